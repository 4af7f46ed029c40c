package presence

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/omnitray/omnitray/agent/testdesktop"
)

// Minimal doubles of logind and the ScreenSaver, each on a bus of its own
// test. Own buses, not the desktop session's: `go test ./...` runs packages
// side by side in one session, and another package's fake logind or
// ScreenSaver would take the well-known names or send us its signals.

const fakeSessionPath = dbus.ObjectPath("/org/freedesktop/login1/session/_31")

// needDesktop: these tests start their own buses (packages run side by
// side), but only where the desktop session says dbus-daemon is usable.
func needDesktop(t *testing.T) {
	t.Helper()
	testdesktop.Need(t, "system-bus")
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Fatalf("no dbus-daemon in the desktop session: %v", err)
	}
}

// startBus gives the test a bus of its own; name says which it stands for.
func startBus(t *testing.T, name string) string {
	t.Helper()
	addr, _ := testdesktop.PrivateBus(t)
	return addr
}

// testBuses gives the test its own "system" and session buses and points the
// watcher (which reads the environment at connect time) at them.
func testBuses(t *testing.T) (system, session string) {
	system, session = startBus(t, "system_bus_socket"), startBus(t, "bus")
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", system)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", session)
	return system, session
}

// connectOwning connects to addr and takes name.
func connectOwning(t *testing.T, addr, name string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if r, err := conn.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: reply %v, %v", name, r, err)
	}
	return conn
}

// fakeLogind owns org.freedesktop.login1: a Manager that finds session _31
// and hands out sleep inhibitors, and the session's properties.
type fakeLogind struct {
	t     *testing.T
	conn  *dbus.Conn
	props *prop.Properties
	taken chan *fakeInhibitor

	mu    sync.Mutex
	pipes []*os.File // write ends to close at cleanup, so the readers end
}

// fakeInhibitor is one Inhibit call's pipe. closed is closed when every
// write end is gone, that is once the test dropped its end (dropOurEnd) and
// the watcher closed the copy it received.
type fakeInhibitor struct {
	args   string
	w      *os.File
	closed chan struct{}
}

func (i *fakeInhibitor) dropOurEnd() { _ = i.w.Close() }

type fakeManager struct {
	f        *fakeLogind
	failAuto bool
}

func (m *fakeManager) GetSession(id string) (dbus.ObjectPath, *dbus.Error) {
	if id != "auto" || m.failAuto {
		return "", dbus.NewError("org.freedesktop.login1.NoSessionForPID", []any{"no session " + id})
	}
	return fakeSessionPath, nil
}

func (m *fakeManager) GetSessionByPID(pid uint32) (dbus.ObjectPath, *dbus.Error) {
	if pid != uint32(os.Getpid()) {
		return "", dbus.NewError("org.freedesktop.login1.NoSessionForPID", []any{fmt.Sprint(pid)})
	}
	return fakeSessionPath, nil
}

func (m *fakeManager) Inhibit(what, who, why, mode string) (dbus.UnixFD, *dbus.Error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, dbus.MakeFailedError(err)
	}
	fd := w.Fd() // before anyone can close w: the test may, once it has inh
	inh := &fakeInhibitor{args: strings.Join([]string{what, who, why, mode}, "|"), w: w, closed: make(chan struct{})}
	go func() {
		defer close(inh.closed)
		_, _ = io.Copy(io.Discard, r) // returns at EOF: all write ends closed
		_ = r.Close()
	}()
	m.f.mu.Lock()
	m.f.pipes = append(m.f.pipes, w)
	m.f.mu.Unlock()
	m.f.taken <- inh
	return dbus.UnixFD(fd), nil
}

// startFakeLogind starts logind on the system bus at addr. failAuto makes
// GetSession("auto") fail, as logind does for a process outside any session.
func startFakeLogind(t *testing.T, addr string, lockedAtStart, failAuto bool) *fakeLogind {
	t.Helper()
	f := &fakeLogind{t: t, conn: connectOwning(t, addr, logindName), taken: make(chan *fakeInhibitor, 8)}
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, w := range f.pipes {
			_ = w.Close()
		}
	})
	if err := f.conn.Export(&fakeManager{f: f, failAuto: failAuto}, managerPath, managerIface); err != nil {
		t.Fatal(err)
	}
	props, err := prop.Export(f.conn, fakeSessionPath, prop.Map{sessionIface: {
		"LockedHint":    {Value: lockedAtStart, Emit: prop.EmitTrue},
		"IdleHint":      {Value: false, Emit: prop.EmitTrue},
		"IdleSinceHint": {Value: uint64(0), Emit: prop.EmitTrue},
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.props = props
	return f
}

func (f *fakeLogind) set(name string, v any) { f.props.SetMust(sessionIface, name, v) }

func (f *fakeLogind) emit(path dbus.ObjectPath, name string, args ...any) {
	f.t.Helper()
	if err := f.conn.Emit(path, name, args...); err != nil {
		f.t.Fatalf("emit %s: %v", name, err)
	}
}

// fakeScreenSaver owns org.freedesktop.ScreenSaver on the session bus.
type fakeScreenSaver struct {
	conn   *dbus.Conn
	active atomic.Bool
	idle   atomic.Uint32 // seconds
}

func (s *fakeScreenSaver) GetActive() (bool, *dbus.Error) { return s.active.Load(), nil }

func (s *fakeScreenSaver) GetSessionIdleTime() (uint32, *dbus.Error) { return s.idle.Load(), nil }

func startFakeScreenSaver(t *testing.T, addr string) *fakeScreenSaver {
	t.Helper()
	s := &fakeScreenSaver{conn: connectOwning(t, addr, screenSavers[0].iface)}
	if err := s.conn.Export(s, screenSavers[0].path, screenSavers[0].iface); err != nil {
		t.Fatal(err)
	}
	return s
}

// setActive changes the state and emits ActiveChanged, as a locker does.
func (s *fakeScreenSaver) setActive(t *testing.T, on bool) {
	t.Helper()
	s.active.Store(on)
	if err := s.conn.Emit(screenSavers[0].path, screenSavers[0].iface+".ActiveChanged", on); err != nil {
		t.Fatalf("emit ActiveChanged: %v", err)
	}
}

// logRecorder is an slog handler that keeps the messages, so that tests can
// wait for the watcher to reach a point (sources set up, inhibitor taken).
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m == msg || strings.HasPrefix(m, msg+" ") {
			n++
		}
	}
	return n
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	r.mu.Lock()
	r.msgs = append(r.msgs, line)
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) last(prefix string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.msgs) - 1; i >= 0; i-- {
		if strings.HasPrefix(r.msgs[i], prefix) {
			return r.msgs[i]
		}
	}
	return ""
}
