package testdesktop

import (
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"
)

// logindManager is the D-Bus face of org.freedesktop.login1.Manager.
type logindManager struct{ f *FakeLogind }

var errNoSuchSession = dbus.NewError("org.freedesktop.login1.NoSuchSession", []any{"No such session"})

// GetSession resolves "auto", "" and the fake's session id.
func (m *logindManager) GetSession(id string) (dbus.ObjectPath, *dbus.Error) {
	if id == "auto" || id == "" || id == LogindSessionID {
		return LogindSessionPath, nil
	}
	return "", errNoSuchSession
}

// GetSessionByPID maps every process to the fake's one session.
func (m *logindManager) GetSessionByPID(pid uint32) (dbus.ObjectPath, *dbus.Error) {
	return LogindSessionPath, nil
}

type sessionListEntry struct {
	ID   string
	UID  uint32
	User string
	Seat string
	Path dbus.ObjectPath
}

// ListSessions returns the one session.
func (m *logindManager) ListSessions() ([]sessionListEntry, *dbus.Error) {
	return []sessionListEntry{{LogindSessionID, 1000, "tester", "seat0", LogindSessionPath}}, nil
}

// Inhibit takes an inhibitor lock; the reply carries its file descriptor.
func (m *logindManager) Inhibit(what, who, why, mode string, sender dbus.Sender) (dbus.UnixFD, *dbus.Error) {
	if mode != "block" && mode != "delay" {
		return -1, dbus.NewError("org.freedesktop.DBus.Error.InvalidArgs", []any{"Invalid mode specification " + mode})
	}
	return m.f.inhibit(Inhibitor{What: what, Who: who, Why: why, Mode: mode, Sender: string(sender)})
}

type inhibitorListEntry struct {
	What, Who, Why, Mode string
	UID, PID             uint32
}

// ListInhibitors lists the held locks.
func (m *logindManager) ListInhibitors() ([]inhibitorListEntry, *dbus.Error) {
	var out []inhibitorListEntry
	for _, in := range m.f.Inhibitors() {
		out = append(out, inhibitorListEntry{in.What, in.Who, in.Why, in.Mode, 1000, 0})
	}
	return out, nil
}

// LockSession emits Lock on the session, as logind does.
func (m *logindManager) LockSession(id string) *dbus.Error {
	if _, err := m.GetSession(id); err != nil {
		return err
	}
	m.f.Lock()
	return nil
}

// UnlockSession emits Unlock on the session.
func (m *logindManager) UnlockSession(id string) *dbus.Error {
	if _, err := m.GetSession(id); err != nil {
		return err
	}
	m.f.Unlock()
	return nil
}

// LockSessions emits Lock on every (the one) session.
func (m *logindManager) LockSessions() *dbus.Error { m.f.Lock(); return nil }

// UnlockSessions emits Unlock on every (the one) session.
func (m *logindManager) UnlockSessions() *dbus.Error { m.f.Unlock(); return nil }

// logindSession is the D-Bus face of org.freedesktop.login1.Session.
type logindSession struct{ f *FakeLogind }

// Lock asks the session to lock: logind emits the Lock signal.
func (s *logindSession) Lock() *dbus.Error { s.f.Lock(); return nil }

// Unlock emits the Unlock signal.
func (s *logindSession) Unlock() *dbus.Error { s.f.Unlock(); return nil }

// SetLockedHint is what a screen locker calls.
func (s *logindSession) SetLockedHint(locked bool) *dbus.Error { s.f.SetLocked(locked); return nil }

// SetIdleHint is what an idle monitor calls.
func (s *logindSession) SetIdleHint(idle bool) *dbus.Error { s.f.SetIdle(idle); return nil }

const logindManagerXML = `<interface name="org.freedesktop.login1.Manager">
  <method name="GetSession"><arg name="session_id" type="s" direction="in"/><arg name="object_path" type="o" direction="out"/></method>
  <method name="GetSessionByPID"><arg name="pid" type="u" direction="in"/><arg name="object_path" type="o" direction="out"/></method>
  <method name="ListSessions"><arg name="sessions" type="a(susso)" direction="out"/></method>
  <method name="Inhibit"><arg name="what" type="s" direction="in"/><arg name="who" type="s" direction="in"/><arg name="why" type="s" direction="in"/><arg name="mode" type="s" direction="in"/><arg name="pipe_fd" type="h" direction="out"/></method>
  <method name="ListInhibitors"><arg name="inhibitors" type="a(ssssuu)" direction="out"/></method>
  <method name="LockSession"><arg name="session_id" type="s" direction="in"/></method>
  <method name="UnlockSession"><arg name="session_id" type="s" direction="in"/></method>
  <method name="LockSessions"/>
  <method name="UnlockSessions"/>
  <signal name="PrepareForSleep"><arg name="start" type="b"/></signal>
  <property name="PreparingForSleep" type="b" access="read"/>
  <property name="IdleHint" type="b" access="read"/>
</interface>`

const logindSessionXML = `<interface name="org.freedesktop.login1.Session">
  <method name="Lock"/>
  <method name="Unlock"/>
  <method name="SetLockedHint"><arg name="locked" type="b" direction="in"/></method>
  <method name="SetIdleHint"><arg name="idle" type="b" direction="in"/></method>
  <signal name="Lock"/>
  <signal name="Unlock"/>
  <property name="Id" type="s" access="read"/>
  <property name="Active" type="b" access="read"/>
  <property name="Type" type="s" access="read"/>
  <property name="State" type="s" access="read"/>
  <property name="LockedHint" type="b" access="read"/>
  <property name="IdleHint" type="b" access="read"/>
  <property name="IdleSinceHint" type="t" access="read"/>
</interface>`

// exportIntrospection makes path introspectable (busctl tree/introspect, d-feet).
func exportIntrospection(t testing.TB, conn *dbus.Conn, path dbus.ObjectPath, ifaceXML string) {
	t.Helper()
	node := "<node>" + introspect.IntrospectDataString + prop.IntrospectDataString + ifaceXML + "</node>"
	if err := conn.Export(introspect.Introspectable(node), path, "org.freedesktop.DBus.Introspectable"); err != nil {
		t.Fatal(err)
	}
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
