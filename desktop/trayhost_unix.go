//go:build linux || freebsd || openbsd || netbsd

package desktop

import (
	"context"

	"github.com/godbus/dbus/v5"
)

// trayHostPresent reports whether a StatusNotifierWatcher is on the session
// bus; without one fyne.io/systray shows nothing and says so only in a log.
// It uses a private connection, as everything but the tray must.
func trayHostPresent(ctx context.Context) bool {
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		return false
	}
	defer conn.Close()
	if conn.Auth(nil) != nil || conn.Hello() != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, trayHostTimeout)
	defer cancel()
	var has bool
	err = conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0,
		"org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && has
}
