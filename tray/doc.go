// Package tray renders the agent's state as a system-tray icon and menu. It is
// the only importer of fyne.io/systray, so that the rest of the agent builds
// and runs headless.
package tray
