package testdesktop_test

import (
	"os"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/omnitray/omnitray/agent/testdesktop"
)

// subscribe returns a channel of the signals matching opts on conn.
func subscribe(t *testing.T, conn *dbus.Conn, opts ...dbus.MatchOption) <-chan *dbus.Signal {
	t.Helper()
	if err := conn.AddMatchSignal(opts...); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 32)
	conn.Signal(ch)
	return ch
}

func nextSignal(t *testing.T, ch <-chan *dbus.Signal, name string) *dbus.Signal {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case s := <-ch:
			if s.Name == name {
				return s
			}
		case <-timeout:
			t.Fatalf("no %s signal", name)
			return nil
		}
	}
}

func TestDesktopFakeLogind(t *testing.T) {
	f := testdesktop.StartFakeLogind(t, testdesktop.LogindOptions{})
	// A plain godbus client, as the agent would be.
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	manager := conn.Object(testdesktop.LogindName, testdesktop.LogindManagerPath)
	var path dbus.ObjectPath
	if err := manager.Call(testdesktop.LogindManagerIface+".GetSession", 0, "auto").Store(&path); err != nil {
		t.Fatal(err)
	}
	if path != testdesktop.LogindSessionPath {
		t.Fatalf("GetSession(auto) = %s", path)
	}
	sigs := subscribe(t, conn, dbus.WithMatchSender(testdesktop.LogindName))

	f.SetLocked(true)
	s := nextSignal(t, sigs, "org.freedesktop.DBus.Properties.PropertiesChanged")
	if changed, _ := s.Body[1].(map[string]dbus.Variant); s.Path != path || changed["LockedHint"].Value() != true {
		t.Errorf("PropertiesChanged on %s: %v", s.Path, s.Body)
	}
	session := conn.Object(testdesktop.LogindName, path)
	if v, err := session.GetProperty(testdesktop.LogindSessionIface + ".LockedHint"); err != nil || v.Value() != true {
		t.Errorf("LockedHint = %v, %v", v, err)
	}

	f.SetIdle(true, time.Now())
	for {
		s = nextSignal(t, sigs, "org.freedesktop.DBus.Properties.PropertiesChanged")
		if changed, _ := s.Body[1].(map[string]dbus.Variant); changed["IdleHint"].Value() == true {
			break
		}
	}

	f.Lock()
	nextSignal(t, sigs, testdesktop.LogindSessionIface+".Lock")
	f.Unlock()
	nextSignal(t, sigs, testdesktop.LogindSessionIface+".Unlock")

	f.PrepareForSleep(true)
	if s := nextSignal(t, sigs, testdesktop.LogindManagerIface+".PrepareForSleep"); s.Body[0] != true {
		t.Errorf("PrepareForSleep(%v)", s.Body)
	}

	var fd dbus.UnixFD
	err = manager.Call(testdesktop.LogindManagerIface+".Inhibit", 0, "sleep", "omnitray", "flush state", "delay").Store(&fd)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Inhibitors()
	if len(got) != 1 || got[0].What != "sleep" || got[0].Mode != "delay" {
		t.Fatalf("Inhibitors() = %+v", got)
	}
	_ = os.NewFile(uintptr(fd), "inhibitor").Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(f.Inhibitors()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("inhibitor not released after closing its fd: %+v", f.Inhibitors())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDesktopFakeScreenSaver(t *testing.T) {
	f := testdesktop.StartFakeScreenSaver(t, "")
	conn := testdesktop.SessionBus(t)
	obj := conn.Object(testdesktop.ScreenSaverName, testdesktop.ScreenSaverPath)
	var active bool
	if err := obj.Call(testdesktop.ScreenSaverIface+".GetActive", 0).Store(&active); err != nil || active {
		t.Fatalf("GetActive = %v, %v", active, err)
	}
	sigs := subscribe(t, conn, dbus.WithMatchInterface(testdesktop.ScreenSaverIface), dbus.WithMatchMember("ActiveChanged"))
	f.SetActive(true)
	if s := nextSignal(t, sigs, testdesktop.ScreenSaverIface+".ActiveChanged"); s.Body[0] != true {
		t.Errorf("ActiveChanged(%v)", s.Body)
	}
	f.SetIdleTime(90 * time.Second)
	var idle uint32
	if err := obj.Call(testdesktop.ScreenSaverIface+".GetSessionIdleTime", 0).Store(&idle); err != nil || idle != 90 {
		t.Errorf("GetSessionIdleTime = %d, %v", idle, err)
	}
	if err := obj.Call(testdesktop.ScreenSaverIface+".GetActive", 0).Store(&active); err != nil || !active {
		t.Errorf("GetActive after SetActive(true) = %v, %v", active, err)
	}
}
