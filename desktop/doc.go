// Package desktop runs the agent on an employee's desktop: it owns the wiring
// of an agent.Agent to the tray (package tray), desktop notifications and
// their actions (open a chat, open Omnidesk, sign in), lock/sleep/idle
// presence, the start-at-login entry, sign-out from the tray, the browser,
// and the check for a tray host. `omnitray run` parses the flags and settles
// the token, then calls Run; `omnitray run --headless` does without it.
//
// It sits above package agent and package tray and imports both; package
// tray stays the only importer of fyne.io/systray. The per-OS part
// (trayhost_*.go) needs no cgo: the package builds for Windows without it.
package desktop
