// Package assets holds the files embedded into the binaries: tray icons (PNG
// for Linux and macOS, ICO for Windows) and the autostart .desktop template.
package assets
