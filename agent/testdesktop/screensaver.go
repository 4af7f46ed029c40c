package testdesktop

import (
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
	// ScreenSaverAltPath is where KDE also serves the interface.
	ScreenSaverAltPath = dbus.ObjectPath("/ScreenSaver")
)

// FakeScreenSaver owns org.freedesktop.ScreenSaver on the session bus, at
// ScreenSaverPath and ScreenSaverAltPath, with a state the test sets.
// ActiveChanged is emitted on ScreenSaverPath only.
type FakeScreenSaver struct {
	conn *dbus.Conn

	mu          sync.Mutex
	active      bool
	activeSince time.Time
	idle        time.Duration
	cookies     map[uint32]string // Inhibit cookie -> application name
	nextCookie  uint32
}

// StartFakeScreenSaver owns org.freedesktop.ScreenSaver on the session bus
// until the test ends (queueing up to 30 s behind another owner). It calls
// Need(t) first.
func StartFakeScreenSaver(t testing.TB) *FakeScreenSaver {
	t.Helper()
	conn := SessionBus(t)
	s := &FakeScreenSaver{conn: conn, cookies: map[uint32]string{}}
	obj := &screenSaverObject{s}
	for _, path := range []dbus.ObjectPath{ScreenSaverPath, ScreenSaverAltPath} {
		if err := conn.Export(obj, path, ScreenSaverIface); err != nil {
			t.Fatal(err)
		}
		exportIntrospection(t, conn, path, screenSaverXML)
	}
	ownName(t, conn, ScreenSaverName)
	return s
}

// SetActive sets what GetActive returns and emits ActiveChanged(active) when
// it changes.
func (s *FakeScreenSaver) SetActive(active bool) {
	s.mu.Lock()
	changed := s.active != active
	s.active = active
	if active && changed {
		s.activeSince = time.Now()
	}
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

// Inhibitions returns the application names of the Inhibit calls not yet
// matched by UnInhibit.
func (s *FakeScreenSaver) Inhibitions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, app := range s.cookies {
		out = append(out, app)
	}
	return out
}

// screenSaverObject is the D-Bus face of the fake.
type screenSaverObject struct{ s *FakeScreenSaver }

func (o *screenSaverObject) GetActive() (bool, *dbus.Error) {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	return o.s.active, nil
}

// SetActive is the D-Bus method: it behaves like the Go one.
func (o *screenSaverObject) SetActive(active bool) (bool, *dbus.Error) {
	o.s.SetActive(active)
	return true, nil
}

func (o *screenSaverObject) GetActiveTime() (uint32, *dbus.Error) {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	if !o.s.active {
		return 0, nil
	}
	return uint32(time.Since(o.s.activeSince).Seconds()), nil
}

func (o *screenSaverObject) GetSessionIdleTime() (uint32, *dbus.Error) {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	return uint32(o.s.idle / time.Second), nil
}

func (o *screenSaverObject) Lock() *dbus.Error { o.s.SetActive(true); return nil }

func (o *screenSaverObject) SimulateUserActivity() *dbus.Error {
	o.s.SetIdleTime(0)
	return nil
}

func (o *screenSaverObject) Inhibit(app, reason string) (uint32, *dbus.Error) {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	o.s.nextCookie++
	o.s.cookies[o.s.nextCookie] = app
	return o.s.nextCookie, nil
}

func (o *screenSaverObject) UnInhibit(cookie uint32) *dbus.Error {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	delete(o.s.cookies, cookie)
	return nil
}

const screenSaverXML = `<interface name="org.freedesktop.ScreenSaver">
  <method name="GetActive"><arg type="b" direction="out"/></method>
  <method name="SetActive"><arg name="e" type="b" direction="in"/><arg type="b" direction="out"/></method>
  <method name="GetActiveTime"><arg name="seconds" type="u" direction="out"/></method>
  <method name="GetSessionIdleTime"><arg name="seconds" type="u" direction="out"/></method>
  <method name="Lock"/>
  <method name="SimulateUserActivity"/>
  <method name="Inhibit"><arg name="application_name" type="s" direction="in"/><arg name="reason_for_inhibit" type="s" direction="in"/><arg name="cookie" type="u" direction="out"/></method>
  <method name="UnInhibit"><arg name="cookie" type="u" direction="in"/></method>
  <signal name="ActiveChanged"><arg type="b"/></signal>
</interface>`
