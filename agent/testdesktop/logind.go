package testdesktop

import (
	"io"
	"os"
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
	// LogindSessionPath is the fake's only session, which GetSession("auto")
	// and GetSessionByPID resolve to.
	LogindSessionPath = dbus.ObjectPath("/org/freedesktop/login1/session/_31")
)

// LogindOptions vary the fake logind. The zero value serves an unlocked
// session on the desktop session's private system bus.
type LogindOptions struct {
	// Bus is the address to serve on; "" is DBUS_SYSTEM_BUS_ADDRESS, after
	// Need(t, "system-bus"). Tests that run side by side with other packages
	// pass a PrivateBus of their own.
	Bus string
	// Locked is the session's LockedHint at start.
	Locked bool
	// NoAutoSession makes GetSession("auto") fail, as logind does for a
	// process outside any session.
	NoAutoSession bool
	// SessionPID, if set, is the only process GetSessionByPID finds the
	// session for; otherwise it finds it for every process.
	SessionPID int
}

// Inhibitor is one lock taken with Manager.Inhibit.
type Inhibitor struct {
	What, Who, Why, Mode string // e.g. "sleep", "omnitray", "flush state", "delay"
}

// Inhibition is one Manager.Inhibit call and the life of its lock.
type Inhibition struct {
	Inhibitor
	released chan struct{} // closed when every copy of the descriptor is
	ours     chan struct{} // closed when the fake dropped its own copy
}

// Released is closed once the lock ends: every copy of its descriptor closed.
func (i *Inhibition) Released() <-chan struct{} { return i.released }

// FakeLogind is a minimal org.freedesktop.login1, for testing an agent's
// reaction to lock, idle and sleep: what agent/presence reads of logind and
// nothing more.
//
// Like real logind it emits signals and PropertiesChanged on the concrete
// session path (LogindSessionPath), so a client must resolve its session
// with GetSession("auto") or GetSessionByPID.
type FakeLogind struct {
	conn  *dbus.Conn
	opts  LogindOptions
	props *prop.Properties // of LogindSessionPath

	mu      sync.Mutex
	calls   []*Inhibition // every Inhibit call, in order
	readers []*os.File    // read ends, closed when the test ends
}

// StartFakeLogind owns org.freedesktop.login1 on opts.Bus until the test
// ends. If another test binary holds the name, it queues and waits up to
// 30 s for it.
func StartFakeLogind(t testing.TB, opts LogindOptions) *FakeLogind {
	t.Helper()
	if opts.Bus == "" {
		Need(t, "system-bus")
		opts.Bus = os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	}
	conn := connect(t, opts.Bus)
	f := &FakeLogind{conn: conn, opts: opts}
	t.Cleanup(f.closeReaders)
	if err := conn.Export(&logindManager{f}, LogindManagerPath, LogindManagerIface); err != nil {
		t.Fatal(err)
	}
	var err error
	f.props, err = prop.Export(conn, LogindSessionPath, prop.Map{LogindSessionIface: {
		"LockedHint":    {Value: opts.Locked, Emit: prop.EmitTrue},
		"IdleHint":      {Value: false, Emit: prop.EmitTrue},
		"IdleSinceHint": {Value: uint64(0), Emit: prop.EmitTrue},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ownName(t, conn, LogindName)
	return f
}

// Inhibitors returns the inhibitor locks currently held: those whose file
// descriptor some process still has open. A release is noticed within about
// a second after the holder closes its descriptor.
func (f *FakeLogind) Inhibitors() []Inhibitor {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Inhibitor
	for _, in := range f.calls {
		select {
		case <-in.released:
		default:
			out = append(out, in.Inhibitor)
		}
	}
	return out
}

// WaitInhibition waits up to 5 s for the nth Inhibit call (from 1) and for
// the fake to have dropped its own copy of the descriptor, so that
// Released tells when the caller lets go.
func (f *FakeLogind) WaitInhibition(t testing.TB, n int) *Inhibition {
	t.Helper()
	deadline := time.Now().Add(callTimeout)
	for {
		f.mu.Lock()
		var in *Inhibition
		if len(f.calls) >= n {
			in = f.calls[n-1]
		}
		f.mu.Unlock()
		if in != nil {
			select {
			case <-in.ours:
				return in
			case <-time.After(time.Until(deadline)):
				t.Fatalf("the fake still holds inhibitor #%d", n)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("inhibitor #%d not taken", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// PrepareForSleep emits Manager.PrepareForSleep(start): true before a
// suspend, false after resume.
func (f *FakeLogind) PrepareForSleep(start bool) {
	f.emit(LogindManagerPath, LogindManagerIface+".PrepareForSleep", start)
}

// SetLocked sets the session's LockedHint and emits PropertiesChanged, as
// logind does when a screen locker calls SetLockedHint.
func (f *FakeLogind) SetLocked(locked bool) {
	f.props.SetMust(LogindSessionIface, "LockedHint", locked)
}

// SetIdle sets the session's IdleSinceHint to since and its IdleHint to
// idle, emitting PropertiesChanged for each.
func (f *FakeLogind) SetIdle(idle bool, since time.Time) {
	f.props.SetMust(LogindSessionIface, "IdleSinceHint", uint64(since.UnixMicro()))
	f.props.SetMust(LogindSessionIface, "IdleHint", idle)
}

// Lock emits the session's Lock signal: logind asking the screen locker to
// lock (loginctl lock-session).
func (f *FakeLogind) Lock() { f.emit(LogindSessionPath, LogindSessionIface+".Lock") }

// Unlock emits the session's Unlock signal.
func (f *FakeLogind) Unlock() { f.emit(LogindSessionPath, LogindSessionIface+".Unlock") }

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
	call := &Inhibition{Inhibitor: in, released: make(chan struct{}), ours: make(chan struct{})}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.readers = append(f.readers, r)
	f.mu.Unlock()
	go func() {
		// Our copy of w must outlive the reply that carries it, and godbus
		// sends the reply after this method returns: close it a bit later.
		time.Sleep(time.Second)
		w.Close()
		close(call.ours)
	}()
	go func() {
		defer close(call.released)
		_, _ = io.Copy(io.Discard, r) // returns at EOF: every writer closed
	}()
	return fd, nil
}

// closeReaders ends the pipe watchers when the test ends.
func (f *FakeLogind) closeReaders() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.readers {
		r.Close()
	}
}
