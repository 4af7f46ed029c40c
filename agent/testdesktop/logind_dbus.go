package testdesktop

import (
	"fmt"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// logindManager is the D-Bus face of org.freedesktop.login1.Manager.
type logindManager struct{ f *FakeLogind }

func noSession(what string) *dbus.Error {
	return dbus.NewError("org.freedesktop.login1.NoSessionForPID", []any{"no session for " + what})
}

// GetSession resolves "auto" (unless NoAutoSession) and "".
func (m *logindManager) GetSession(id string) (dbus.ObjectPath, *dbus.Error) {
	if id == "" || id == "auto" && !m.f.opts.NoAutoSession {
		return LogindSessionPath, nil
	}
	return "", noSession(id)
}

// GetSessionByPID maps every process (or only SessionPID) to the one session.
func (m *logindManager) GetSessionByPID(pid uint32) (dbus.ObjectPath, *dbus.Error) {
	if want := m.f.opts.SessionPID; want != 0 && pid != uint32(want) {
		return "", noSession(fmt.Sprint("pid ", pid))
	}
	return LogindSessionPath, nil
}

// Inhibit takes an inhibitor lock; the reply carries its file descriptor.
func (m *logindManager) Inhibit(what, who, why, mode string) (dbus.UnixFD, *dbus.Error) {
	if mode != "block" && mode != "delay" {
		return -1, dbus.NewError("org.freedesktop.DBus.Error.InvalidArgs", []any{"Invalid mode specification " + mode})
	}
	return m.f.inhibit(Inhibitor{What: what, Who: who, Why: why, Mode: mode})
}

// ownName makes conn the primary owner of name, queueing behind another
// owner for up to 30 s, and releases the name when the test ends.
func ownName(t testing.TB, conn *dbus.Conn, name string) {
	t.Helper()
	reply, err := conn.RequestName(name, 0)
	if err != nil {
		t.Fatalf("requesting %s: %v", name, err)
	}
	t.Cleanup(func() { _, _ = conn.ReleaseName(name) })
	if reply == dbus.RequestNameReplyPrimaryOwner || reply == dbus.RequestNameReplyAlreadyOwner {
		return
	}
	me := conn.Names()[0]
	deadline := time.Now().Add(30 * time.Second)
	var owner string
	for {
		if err := call(conn.BusObject(), "org.freedesktop.DBus.GetNameOwner", []any{name}, &owner); err == nil && owner == me {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still owned by %s after 30s", name, owner)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
