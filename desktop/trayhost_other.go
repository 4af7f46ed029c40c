//go:build !(linux || freebsd || openbsd || netbsd)

package desktop

import "context"

// trayHostPresent: Windows and macOS always have a notification area.
func trayHostPresent(context.Context) bool { return true }
