//go:build !linux && !windows

package presence

// New returns Nop: on macOS lock and sleep notifications need cgo and an
// AppKit run loop, which the agent does not have yet (see the package doc).
func New(Options) Watcher { return Nop() }
