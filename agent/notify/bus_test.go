//go:build linux

package notify

// Tests against a private dbus-daemon (started here, gone afterwards) with a
// fake notification server written in Go. They need only the dbus-daemon
// binary, not a desktop, and skip without it. The real dunst is exercised
// by desktop_test.go.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omnitray/omnitray/agent/testdesktop"
)

// privateBus points DBUS_SESSION_BUS_ADDRESS at a bus of the test's own.
func privateBus(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a dbus-daemon")
	}
	addr, _ := testdesktop.PrivateBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
}

func dial(t *testing.T) *dbus.Conn {
	t.Helper()
	conn, err := connectPrivate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// capturedNotify is one Notify call as the server received it.
type capturedNotify struct {
	app      string
	replaces uint32
	summary  string
	body     string
	actions  []string
	hints    map[string]dbus.Variant
	timeout  int32
}

// fakeServer implements the server side of org.freedesktop.Notifications.
type fakeServer struct {
	conn  *dbus.Conn
	caps  []string
	block chan struct{} // when set, Notify hangs until it is closed

	mu     sync.Mutex
	nextID uint32
	calls  []capturedNotify
	closed []uint32
}

func (s *fakeServer) GetCapabilities() ([]string, *dbus.Error) { return s.caps, nil }

func (s *fakeServer) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, capturedNotify{app, replaces, summary, body, actions, hints, timeout})
	if replaces != 0 {
		return replaces, nil
	}
	s.nextID++
	return s.nextID, nil
}

func (s *fakeServer) CloseNotification(id uint32) *dbus.Error {
	s.mu.Lock()
	s.closed = append(s.closed, id)
	s.mu.Unlock()
	s.conn.Emit(fdnPath, fdnIface+".NotificationClosed", id, uint32(3))
	return nil
}

func (s *fakeServer) last(t *testing.T) capturedNotify {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) == 0 {
		t.Fatal("no Notify call reached the server")
	}
	return s.calls[len(s.calls)-1]
}

func (s *fakeServer) closedIDs() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.closed)
}

// startFakeServer owns the server name; block, if not nil, makes Notify
// hang until it is closed.
func startFakeServer(t *testing.T, block chan struct{}, caps ...string) *fakeServer {
	t.Helper()
	s := &fakeServer{conn: dial(t), caps: caps, block: block, nextID: 41}
	if err := s.conn.Export(s, fdnPath, fdnIface); err != nil {
		t.Fatal(err)
	}
	if r, err := s.conn.RequestName(fdnName, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", fdnName, r, err)
	}
	return s
}

func newBusNotifier(t *testing.T) *dbusNotifier {
	t.Helper()
	n, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n.(*dbusNotifier)
}

func TestBusNoServer(t *testing.T) {
	privateBus(t)
	n, err := New(Options{})
	if !errors.Is(err, ErrNoServer) {
		t.Fatalf("New = %v, %v; want ErrNoServer", n, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

func TestBusNotifyReplaceAndSignals(t *testing.T) {
	privateBus(t)
	srv := startFakeServer(t, nil, "actions", "body-markup")
	n := newBusNotifier(t)
	ctx := context.Background()
	msg := Notification{Topic: "offline-soon", Title: "Offline soon", Body: "<b>x</b>",
		Actions: []Action{{Key: "stay-online", Label: "Stay online"}}}

	if err := n.Notify(ctx, msg); err != nil {
		t.Fatal(err)
	}
	first := srv.last(t)
	if first.body != "&lt;b&gt;x&lt;/b&gt;" || first.replaces != 0 || first.app != "Omnitray" || len(first.actions) != 2 {
		t.Errorf("first call: %+v", first)
	}
	id := n.lastID("offline-soon")
	if err := n.Notify(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if got := srv.last(t).replaces; got != id || id == 0 {
		t.Errorf("second call replaces_id = %d, want %d", got, id)
	}

	// A peer that does not own the server name cannot inject clicks: the
	// match rule names the sender. Round-trip through the bus afterwards,
	// so the spoof is routed before the real signal below.
	spoofer := dial(t)
	spoofer.Emit(fdnPath, fdnIface+".ActionInvoked", id, "spoofed")
	if err := spoofer.BusObject().Call("org.freedesktop.DBus.GetId", 0).Err; err != nil {
		t.Fatal(err)
	}
	srv.conn.Emit(fdnPath, fdnIface+".ActionInvoked", id+100, "foreign") // another app's notification
	srv.conn.Emit(fdnPath, fdnIface+".ActionInvoked", id, "stay-online")
	if ev := recv(t, n.Actions()); ev != (ActionEvent{Topic: "offline-soon", Key: "stay-online"}) {
		t.Errorf("first event = %+v, want ours (spoofed and foreign ones filtered)", ev)
	}

	if err := n.Dismiss(ctx, "offline-soon"); err != nil {
		t.Fatal(err)
	}
	if closed := srv.closedIDs(); !slices.Equal(closed, []uint32{id}) || n.lastID("offline-soon") != 0 {
		t.Errorf("Dismiss: closed %v, still tracked %d", closed, n.lastID("offline-soon"))
	}
	if err := n.Dismiss(ctx, "never-shown"); err != nil {
		t.Errorf("Dismiss of an unknown topic: %v", err)
	}
}

func TestBusHungServer(t *testing.T) {
	privateBus(t)
	block := make(chan struct{})
	defer close(block)
	startFakeServer(t, block)
	n := newBusNotifier(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := n.Notify(ctx, Notification{Topic: "t", Title: "x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Notify to a hung server = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Notify blocked %v", d)
	}
	// A caller queued behind a hung call also honours its own context.
	go n.Notify(context.Background(), Notification{Topic: "t"}) // holds the send slot for callTimeout
	time.Sleep(50 * time.Millisecond)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start = time.Now()
	if err := n.Notify(ctx2, Notification{Topic: "t"}); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("queued Notify = %v after %v", err, time.Since(start))
	}
}

func recv(t *testing.T, ch <-chan ActionEvent) ActionEvent {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no action event")
		return ActionEvent{}
	}
}
