package testdesktop

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// callTimeout bounds every D-Bus call the helpers make, so a wedged peer
// fails the test with a message instead of hanging it until -timeout.
const callTimeout = 5 * time.Second

// SessionBus returns a new private connection to the session's bus
// (DBUS_SESSION_BUS_ADDRESS), closed when the test ends. It calls Need first.
// A private connection keeps the test independent of dbus.SessionBus(), the
// process-wide shared connection that fyne.io/systray closes on Quit (P9).
func SessionBus(t testing.TB) *dbus.Conn {
	t.Helper()
	Need(t)
	return connect(t, os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
}

// connect dials address explicitly: godbus would otherwise fall back to
// $XDG_RUNTIME_DIR/bus or exec dbus-launch (P1).
func connect(t testing.TB, address string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(address)
	if err != nil {
		t.Fatalf("connecting to D-Bus at %s: %v", address, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// call makes a method call bounded by callTimeout and stores the reply.
func call(obj dbus.BusObject, method string, args []any, out ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c := obj.CallWithContext(ctx, method, 0, args...)
	if c.Err != nil {
		return c.Err
	}
	if len(out) == 0 {
		return nil
	}
	return c.Store(out...)
}

// getProperty reads one property, bounded by callTimeout.
func getProperty(obj dbus.BusObject, iface, name string) (dbus.Variant, error) {
	var v dbus.Variant
	err := call(obj, "org.freedesktop.DBus.Properties.Get", []any{iface, name}, &v)
	return v, err
}
