// Package assets holds the files embedded into the binaries: the tray icons,
// one per agent state, as PNG (Linux and macOS decode only PNG) and as ICO
// (Windows loads only ICO), drawn by cmd/internal/mkicons.
package assets

import (
	"embed"
	"runtime"
)

//go:generate go run ../cmd/internal/mkicons icons

//go:embed icons
var icons embed.FS

// Icon kinds, one per state the tray shows.
const (
	IconOnline       = "online"
	IconGoingOffline = "going-offline"
	IconOffline      = "offline"
	IconUnknown      = "unknown"
	IconError        = "error"
	IconSignedOut    = "signed-out"
	IconApp          = "omnitray-large"
)

// Icon returns the picture for kind in the format this OS's tray wants.
func Icon(kind string) []byte {
	ext := ".png"
	if runtime.GOOS == "windows" {
		ext = ".ico"
	}
	return IconFile(kind + ext)
}

// IconFile returns one embedded icon file by name, or nil.
func IconFile(name string) []byte {
	b, err := icons.ReadFile("icons/" + name)
	if err != nil {
		return nil
	}
	return b
}
