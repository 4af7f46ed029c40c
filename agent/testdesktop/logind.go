package testdesktop

import (
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Names and paths of the fake logind.
const (
	LogindName         = "org.freedesktop.login1"
	LogindManagerPath  = dbus.ObjectPath("/org/freedesktop/login1")
	LogindManagerIface = "org.freedesktop.login1.Manager"
	LogindSessionIface = "org.freedesktop.login1.Session"
	// LogindSessionID is the id of the fake's only session; GetSession("auto")
	// and GetSessionByPID resolve to LogindSessionPath.
	LogindSessionID   = "1"
	LogindSessionPath = dbus.ObjectPath("/org/freedesktop/login1/session/_31")
	// LogindAutoPath also serves the session's methods and properties, as
	// real logind does for the caller's own session.
	LogindAutoPath = dbus.ObjectPath("/org/freedesktop/login1/session/auto")
)

// Inhibitor is one lock taken with Manager.Inhibit and not yet released.
type Inhibitor struct {
	What, Who, Why, Mode string // e.g. "sleep", "omnitray", "flush state", "delay"
	Sender               string // unique bus name of the caller
}

// FakeLogind is a minimal org.freedesktop.login1 on the session's private
// system bus, for testing an agent's reaction to lock, idle and sleep.
//
// Like real logind it emits signals and PropertiesChanged on the concrete
// session path (LogindSessionPath), never on .../session/auto, so a client
// must resolve its session with GetSession("auto") or GetSessionByPID.
type FakeLogind struct {
	conn      *dbus.Conn
	props     *prop.Properties // of LogindSessionPath
	autoProps *prop.Properties // of LogindAutoPath

	mu         sync.Mutex
	inhibitors map[int]*heldInhibitor // by id
	nextID     int
}

type heldInhibitor struct {
	Inhibitor
	r *os.File // read end of the pipe whose write end the holder got
}

// StartFakeLogind owns org.freedesktop.login1 on DBUS_SYSTEM_BUS_ADDRESS
// until the test ends. If another test binary holds the name, it queues and
// waits up to 30 s for it. It calls Need(t, "system-bus") first.
func StartFakeLogind(t testing.TB) *FakeLogind {
	t.Helper()
	Need(t, "system-bus")
	conn := connect(t, os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"))
	f := &FakeLogind{conn: conn, inhibitors: map[int]*heldInhibitor{}}
	t.Cleanup(f.dropInhibitors)
	m := &logindManager{f}
	s := &logindSession{f}
	var err error
	for _, export := range []struct {
		v     any
		path  dbus.ObjectPath
		iface string
	}{
		{m, LogindManagerPath, LogindManagerIface},
		{s, LogindSessionPath, LogindSessionIface},
		{s, LogindAutoPath, LogindSessionIface},
	} {
		if err = conn.Export(export.v, export.path, export.iface); err != nil {
			t.Fatal(err)
		}
	}
	sessionProps := func() map[string]*prop.Prop {
		return map[string]*prop.Prop{
			"Id":            {Value: LogindSessionID, Emit: prop.EmitConst},
			"Active":        {Value: true, Emit: prop.EmitTrue},
			"Type":          {Value: "x11", Emit: prop.EmitConst},
			"State":         {Value: "active", Emit: prop.EmitTrue},
			"LockedHint":    {Value: false, Emit: prop.EmitTrue},
			"IdleHint":      {Value: false, Emit: prop.EmitTrue},
			"IdleSinceHint": {Value: uint64(0), Emit: prop.EmitTrue},
		}
	}
	if f.props, err = prop.Export(conn, LogindSessionPath, prop.Map{LogindSessionIface: sessionProps()}); err != nil {
		t.Fatal(err)
	}
	// The auto path answers Get/GetAll with the same values (kept in sync by
	// setHint) but, like logind, never signals.
	if f.autoProps, err = prop.Export(conn, LogindAutoPath, prop.Map{LogindSessionIface: sessionProps()}); err != nil {
		t.Fatal(err)
	}
	if _, err = prop.Export(conn, LogindManagerPath, prop.Map{LogindManagerIface: {
		"PreparingForSleep": {Value: false, Emit: prop.EmitFalse},
		"IdleHint":          {Value: false, Emit: prop.EmitFalse},
	}}); err != nil {
		t.Fatal(err)
	}
	exportIntrospection(t, conn, LogindManagerPath, logindManagerXML)
	exportIntrospection(t, conn, LogindSessionPath, logindSessionXML)
	exportIntrospection(t, conn, LogindAutoPath, logindSessionXML)
	ownName(t, conn, LogindName)
	return f
}

// Inhibitors returns the inhibitor locks currently held: those whose file
// descriptor some process still has open. A release is noticed within about
// a second after the holder closes its descriptor.
func (f *FakeLogind) Inhibitors() []Inhibitor {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]int, 0, len(f.inhibitors))
	for id := range f.inhibitors {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]Inhibitor, 0, len(ids))
	for _, id := range ids {
		out = append(out, f.inhibitors[id].Inhibitor)
	}
	return out
}

// PrepareForSleep emits Manager.PrepareForSleep(start): true before a
// suspend, false after resume.
func (f *FakeLogind) PrepareForSleep(start bool) {
	f.emit(LogindManagerPath, LogindManagerIface+".PrepareForSleep", start)
}

// SetLocked sets the session's LockedHint and emits PropertiesChanged, as
// logind does when a screen locker calls SetLockedHint.
func (f *FakeLogind) SetLocked(locked bool) { f.setHint("LockedHint", locked) }

// SetIdle sets the session's IdleHint (and IdleSinceHint) and emits
// PropertiesChanged.
func (f *FakeLogind) SetIdle(idle bool) {
	f.setHint("IdleSinceHint", uint64(time.Now().UnixMicro()))
	f.setHint("IdleHint", idle)
}

// Lock emits the session's Lock signal: logind asking the screen locker to lock.
func (f *FakeLogind) Lock() { f.emit(LogindSessionPath, LogindSessionIface+".Lock") }

// Unlock emits the session's Unlock signal.
func (f *FakeLogind) Unlock() { f.emit(LogindSessionPath, LogindSessionIface+".Unlock") }

func (f *FakeLogind) setHint(name string, v any) {
	f.props.SetMust(LogindSessionIface, name, v)
	f.autoProps.SetMust(LogindSessionIface, name, v)
}

func (f *FakeLogind) emit(path dbus.ObjectPath, name string, args ...any) {
	_ = f.conn.Emit(path, name, args...)
}

// inhibit records a lock and returns the write end of a pipe for the caller;
// the lock ends when every copy of that end is closed.
func (f *FakeLogind) inhibit(in Inhibitor) (dbus.UnixFD, *dbus.Error) {
	r, w, err := os.Pipe()
	if err != nil {
		return -1, dbus.MakeFailedError(err)
	}
	fd := dbus.UnixFD(w.Fd()) // before the closer below starts
	f.mu.Lock()
	f.nextID++
	id := f.nextID
	f.inhibitors[id] = &heldInhibitor{in, r}
	f.mu.Unlock()
	go func() {
		// Our copy of w must outlive the reply that carries it, and godbus
		// sends the reply after this method returns: close it a bit later.
		time.Sleep(time.Second)
		w.Close()
	}()
	go func() {
		_, _ = io.Copy(io.Discard, r) // returns at EOF: every writer closed
		f.mu.Lock()
		delete(f.inhibitors, id)
		f.mu.Unlock()
		r.Close()
	}()
	return fd, nil
}

// dropInhibitors ends the pipe watchers when the test ends.
func (f *FakeLogind) dropInhibitors() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.inhibitors {
		h.r.Close()
	}
}
