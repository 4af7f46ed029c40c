package testdesktop

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Names and paths of the fake screen saver.
const (
	ScreenSaverName  = "org.freedesktop.ScreenSaver"
	ScreenSaverIface = "org.freedesktop.ScreenSaver"
	ScreenSaverPath  = dbus.ObjectPath("/org/freedesktop/ScreenSaver")
)

// FakeScreenSaver owns org.freedesktop.ScreenSaver at ScreenSaverPath, with
// a state the test sets: what agent/presence reads of a screen locker.
type FakeScreenSaver struct {
	conn *dbus.Conn

	mu     sync.Mutex
	active bool
	idle   time.Duration
}

// StartFakeScreenSaver owns org.freedesktop.ScreenSaver on the bus at
// address bus until the test ends (queueing up to 30 s behind another
// owner). bus "" is the desktop session's bus, after Need(t).
func StartFakeScreenSaver(t testing.TB, bus string) *FakeScreenSaver {
	t.Helper()
	if bus == "" {
		Need(t)
		bus = os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	}
	conn := connect(t, bus)
	s := &FakeScreenSaver{conn: conn}
	if err := conn.Export(&screenSaverObject{s}, ScreenSaverPath, ScreenSaverIface); err != nil {
		t.Fatal(err)
	}
	ownName(t, conn, ScreenSaverName)
	return s
}

// SetActive sets what GetActive returns and emits ActiveChanged(active) when
// it changes, as a locker does.
func (s *FakeScreenSaver) SetActive(active bool) {
	s.mu.Lock()
	changed := s.active != active
	s.active = active
	s.mu.Unlock()
	if changed {
		_ = s.conn.Emit(ScreenSaverPath, ScreenSaverIface+".ActiveChanged", active)
	}
}

// SetIdleTime sets what GetSessionIdleTime returns (whole seconds).
func (s *FakeScreenSaver) SetIdleTime(d time.Duration) {
	s.mu.Lock()
	s.idle = d
	s.mu.Unlock()
}

// screenSaverObject is the D-Bus face of the fake.
type screenSaverObject struct{ s *FakeScreenSaver }

func (o *screenSaverObject) GetActive() (bool, *dbus.Error) {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	return o.s.active, nil
}

func (o *screenSaverObject) GetSessionIdleTime() (uint32, *dbus.Error) {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	return uint32(o.s.idle / time.Second), nil
}
