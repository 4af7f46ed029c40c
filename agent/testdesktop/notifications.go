package testdesktop

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// notificationsName is the bus name of the notification daemon (dunst).
const notificationsName = "org.freedesktop.Notifications"

// Notify is one org.freedesktop.Notifications.Notify call seen on the session
// bus, with the id the daemon returned for it.
type Notify struct {
	ID         uint32 // the daemon's reply; 0 when no reply was seen within 2 s
	Sender     string // unique bus name of the caller
	AppName    string
	ReplacesID uint32
	AppIcon    string
	Summary    string
	Body       string   // exactly as sent: markup and escaping are the caller's (P11)
	Actions    []string // key, label, key, label, ...
	Hints      map[string]dbus.Variant
	Expire     int32 // expire_timeout in ms: -1 server default, 0 never
}

// NotifyWatch captures the Notify calls made on the session bus through a
// dedicated monitor connection (org.freedesktop.DBus.Monitoring.BecomeMonitor).
// It sees every sender, whichever D-Bus library it uses.
type NotifyWatch struct {
	conn  *dbus.Conn
	calls chan Notify
}

type callKey struct {
	sender string
	serial uint32
}

// WatchNotifications starts capturing notifications; it stops when the test
// ends. Only notifications sent after it returns are seen.
func WatchNotifications(t testing.TB) *NotifyWatch {
	t.Helper()
	Need(t)
	conn := connect(t, os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	msgs := make(chan *dbus.Message, 1024)
	// Eavesdrop first: from BecomeMonitor on, every message goes to msgs, the
	// reply to BecomeMonitor included, so it is sent by hand and awaited there.
	conn.Eavesdrop(msgs)
	// Stop eavesdropping before the connection's own cleanup closes it:
	// godbus closes the channel in Close but its reader may still deliver
	// one more message to it ("send on closed channel", godbus v5.2.4).
	// Cleanups run last-in first-out, so this runs first.
	t.Cleanup(func() {
		conn.Eavesdrop(nil)
		close(msgs)
	})
	rules := []string{
		"type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
		"type='method_return',sender='" + notificationsName + "'",
		"type='error',sender='" + notificationsName + "'",
	}
	req := &dbus.Message{
		Type: dbus.TypeMethodCall,
		Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldDestination: dbus.MakeVariant("org.freedesktop.DBus"),
			dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath("/org/freedesktop/DBus")),
			dbus.FieldInterface:   dbus.MakeVariant("org.freedesktop.DBus.Monitoring"),
			dbus.FieldMember:      dbus.MakeVariant("BecomeMonitor"),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(rules, uint32(0))),
		},
		Body: []any{rules, uint32(0)},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // untracks the call: its reply never reaches godbus
	if c := conn.SendWithContext(ctx, req, nil); c.Err != nil {
		t.Fatalf("BecomeMonitor: %v", c.Err)
	}
	timeout := time.After(callTimeout)
	for ready := false; !ready; {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("BecomeMonitor: connection closed")
			}
			if rs, _ := m.Headers[dbus.FieldReplySerial].Value().(uint32); rs != req.Serial() {
				continue
			}
			if m.Type == dbus.TypeError {
				t.Fatalf("BecomeMonitor: %v %v", m.Headers[dbus.FieldErrorName], m.Body)
			}
			ready = true
		case <-timeout:
			t.Fatalf("BecomeMonitor: no reply within %v", callTimeout)
		}
	}
	w := &NotifyWatch{conn: conn, calls: make(chan Notify, 1024)}
	go w.loop(msgs)
	return w
}

func (w *NotifyWatch) loop(msgs <-chan *dbus.Message) {
	pending := map[callKey]Notify{}
	since := map[callKey]time.Time{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deliver := func(k callKey, n Notify) {
		delete(pending, k)
		delete(since, k)
		select {
		case w.calls <- n:
		default: // nobody reads: drop rather than block
		}
	}
	for {
		select {
		case <-tick.C:
			for k, at := range since {
				if time.Since(at) > 2*time.Second {
					deliver(k, pending[k])
				}
			}
		case m, ok := <-msgs:
			if !ok {
				return
			}
			switch m.Type {
			case dbus.TypeMethodCall:
				n, ok := decodeNotify(m)
				if !ok {
					continue
				}
				k := callKey{n.Sender, m.Serial()}
				if m.Flags&dbus.FlagNoReplyExpected != 0 {
					deliver(k, n)
					continue
				}
				pending[k], since[k] = n, time.Now()
			case dbus.TypeMethodReply, dbus.TypeError:
				dest, _ := m.Headers[dbus.FieldDestination].Value().(string)
				rs, _ := m.Headers[dbus.FieldReplySerial].Value().(uint32)
				k := callKey{dest, rs}
				n, ok := pending[k]
				if !ok {
					continue
				}
				if m.Type == dbus.TypeMethodReply && len(m.Body) == 1 {
					n.ID, _ = m.Body[0].(uint32)
				}
				deliver(k, n)
			}
		}
	}
}

func decodeNotify(m *dbus.Message) (Notify, bool) {
	if len(m.Body) != 8 {
		return Notify{}, false
	}
	var n Notify
	n.Sender, _ = m.Headers[dbus.FieldSender].Value().(string)
	n.AppName, _ = m.Body[0].(string)
	n.ReplacesID, _ = m.Body[1].(uint32)
	n.AppIcon, _ = m.Body[2].(string)
	n.Summary, _ = m.Body[3].(string)
	n.Body, _ = m.Body[4].(string)
	n.Actions, _ = m.Body[5].([]string)
	n.Hints, _ = m.Body[6].(map[string]dbus.Variant)
	n.Expire, _ = m.Body[7].(int32)
	return n, true
}

// next returns the next Notify call (in the order the daemon answered them),
// or false after timeout.
func (w *NotifyWatch) next(timeout time.Duration) (Notify, bool) {
	select {
	case n := <-w.calls:
		return n, true
	case <-time.After(timeout):
		return Notify{}, false
	}
}

// WaitFor returns the next Notify call for which match is true, discarding
// the others, or false after timeout.
func (w *NotifyWatch) WaitFor(timeout time.Duration, match func(Notify) bool) (Notify, bool) {
	deadline := time.Now().Add(timeout)
	for {
		n, ok := w.next(time.Until(deadline))
		if !ok || match(n) {
			return n, ok
		}
	}
}
