//go:build linux

package notify

import (
	"slices"
	"testing"
	"time"

	fdn "github.com/esiqveland/notify"
	"github.com/godbus/dbus/v5"
)

func TestMessage(t *testing.T) {
	n := Notification{Topic: "offline-soon", Title: " Offline\nsoon ", Body: `<b>x</b> & <a href="y">`,
		Actions: []Action{{Key: "stay-online", Label: "Stay online 5 min"}}, Urgency: Critical}

	d := newDBusNotifier(Options{}.withDefaults(), []string{"actions", "body", "body-markup"})
	m := d.message(n)
	if m.Body != `&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href=&#34;y&#34;&gt;` {
		t.Errorf("markup server: body %q", m.Body)
	}
	if m.Summary != "Offline soon" || m.AppName != "Omnitray" {
		t.Errorf("summary %q app %q", m.Summary, m.AppName)
	}
	if !slices.Equal(flattenActions(m.Actions), []string{"stay-online", "Stay online 5 min"}) {
		t.Errorf("actions %v", m.Actions)
	}
	if m.Hints["desktop-entry"].Value() != "omnitray" || m.Hints["urgency"].Value() != byte(2) {
		t.Errorf("hints %v", m.Hints)
	}

	plain := newDBusNotifier(Options{}.withDefaults(), []string{"body"})
	m = plain.message(n)
	if m.Body != n.Body || len(m.Actions) != 0 {
		t.Errorf("plain server without actions: body %q actions %v", m.Body, m.Actions)
	}
	n.Topic = ""
	if m = d.message(n); len(m.Actions) != 0 {
		t.Errorf("actions sent without a topic: %v", m.Actions)
	}
	if flattenActions(nil) == nil {
		t.Error("no actions must still be an empty array")
	}
}

func TestExpireTimeout(t *testing.T) {
	tests := []struct{ in, want time.Duration }{
		{0, fdn.ExpireTimeoutSetByNotificationServer},
		{-time.Second, fdn.ExpireTimeoutNever},
		{time.Microsecond, time.Millisecond},
		{5 * time.Second, 5 * time.Second},
		{1000 * time.Hour, (1<<31 - 1) * time.Millisecond},
	}
	for _, tt := range tests {
		if got := expireTimeout(tt.in); got != tt.want {
			t.Errorf("expireTimeout(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func signal(name string, body ...any) *dbus.Signal {
	return &dbus.Signal{Sender: ":1.1", Path: fdnPath, Name: fdnIface + "." + name, Body: body}
}

func TestHandleSignal(t *testing.T) {
	d := newDBusNotifier(Options{}.withDefaults(), nil)
	d.remember("offline-soon", 0, 7)
	d.remember("chat", 0, 8)

	for _, s := range []*dbus.Signal{
		nil,
		signal("ActionInvoked", uint32(99), "x"),        // another app's notification
		signal("ActionInvoked", "7", "x"),               // malformed: must not panic
		signal("ActionInvoked", uint32(7)),              // too short
		signal("NotificationClosed", uint32(7), "gone"), // malformed reason
		signal("ActivationToken", uint32(7), "token"),   // not ours to handle
		{Path: "/elsewhere", Name: fdnIface + ".ActionInvoked", Body: []any{uint32(7), "x"}},
	} {
		d.handleSignal(s)
	}
	select {
	case ev := <-d.events:
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
	if d.lastID("offline-soon") != 7 {
		t.Fatal("a malformed Closed forgot the id")
	}

	d.handleSignal(signal("ActionInvoked", uint32(7), "stay-online"))
	d.handleSignal(signal("NotificationClosed", uint32(7), uint32(2)))
	if ev := <-d.events; ev != (ActionEvent{Topic: "offline-soon", Key: "stay-online"}) {
		t.Errorf("event %+v", ev)
	}
	if d.lastID("offline-soon") != 0 || d.lastID("chat") != 8 {
		t.Errorf("after Closed(7): offline-soon=%d chat=%d", d.lastID("offline-soon"), d.lastID("chat"))
	}
	d.handleSignal(signal("ActionInvoked", uint32(7), "late"))
	select {
	case ev := <-d.events:
		t.Errorf("event for a closed id: %+v", ev)
	default:
	}

	// A server may answer a replacement with a fresh id; the old one is
	// then not ours any more.
	d.remember("chat", 8, 12)
	if _, ok := d.byID[8]; ok || d.lastID("chat") != 12 {
		t.Errorf("replacement with a new id: byID=%v", d.byID)
	}
	// Topic-less notifications are never tracked.
	d.remember("", 0, 13)
	if _, ok := d.byID[13]; ok {
		t.Error("tracked a topic-less id")
	}
}

func TestHandleSignalDropsOldest(t *testing.T) {
	d := newDBusNotifier(Options{}.withDefaults(), nil)
	d.remember("t", 0, 1)
	for i := range actionsBuffer + 3 {
		d.handleSignal(signal("ActionInvoked", uint32(1), string(rune('a'+i)))) // must not block
	}
	if ev := <-d.events; ev.Key != "d" {
		t.Errorf("oldest kept = %q, want d", ev.Key)
	}
}
