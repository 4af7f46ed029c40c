//go:build linux

package notify

// Desktop tests: the real dunst in the private session
// (`make test-desktop`).

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omnitray/omnitray/agent/testdesktop"
)

// needDesktop: this test talks to the session's real dunst.
func needDesktop(t *testing.T) { testdesktop.Need(t, "display") }

// notifyCall is a Notify method call seen on the bus.
type notifyCall struct {
	sender string
	capturedNotify
}

// watchNotify becomes a bus monitor (a dedicated, then read-only,
// connection) and reports every org.freedesktop.Notifications.Notify call.
func watchNotify(t *testing.T) <-chan notifyCall {
	t.Helper()
	conn := dial(t)
	rule := "type='method_call',interface='" + fdnIface + "',member='Notify'"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.Monitoring.BecomeMonitor", 0, []string{rule}, uint32(0)).Err; err != nil {
		t.Fatalf("become monitor: %v", err)
	}
	// Only after the reply: once eavesdropping, godbus diverts every
	// incoming message, the reply included, to this channel.
	msgs := make(chan *dbus.Message, 256) // godbus drops eavesdropped messages when full
	conn.Eavesdrop(msgs)
	// Stop eavesdropping before the connection is closed: godbus closes
	// the channel in Close while its reader may still deliver to it.
	t.Cleanup(func() {
		conn.Eavesdrop(nil)
		close(msgs)
	})
	out := make(chan notifyCall, 64)
	go func() {
		for m := range msgs { // closed at cleanup
			var c notifyCall
			if m.Type != dbus.TypeMethodCall || dbus.Store(m.Body, &c.app, &c.replaces, new(string),
				&c.summary, &c.body, &c.actions, &c.hints, &c.timeout) != nil {
				continue
			}
			if v, ok := m.Headers[dbus.FieldSender]; ok {
				c.sender, _ = v.Value().(string)
			}
			out <- c
		}
	}()
	return out
}

// nextCall waits for the next Notify call made by sender.
func nextCall(t *testing.T, calls <-chan notifyCall, sender string) notifyCall {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case c := <-calls:
			if c.sender == sender {
				return c
			}
		case <-timeout:
			t.Fatalf("no Notify call from %s", sender)
		}
	}
}

func dunstctl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "dunstctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dunstctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// waitFor polls cond; dunst and our signal loop run asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func displayed(t *testing.T) string { return dunstctl(t, "count", "displayed") }

// historyMessages returns what dunst rendered for notifications from app
// (history holds only closed ones, so close-all first).
func historyMessages(t *testing.T, app string) []string {
	t.Helper()
	var h struct {
		Data [][]map[string]struct {
			Data any `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(dunstctl(t, "history")), &h); err != nil {
		t.Fatalf("parse dunstctl history: %v", err)
	}
	var msgs []string
	for _, group := range h.Data {
		for _, n := range group {
			if n["appname"].Data == app {
				msg, _ := n["message"].Data.(string)
				msgs = append(msgs, msg)
			}
		}
	}
	return msgs
}

// renderMarkup returns the text a Pango-markup string displays, failing
// the test if it is not well-formed (dunst would then strip all markup and
// lose text: headless-desktop.md P11).
func renderMarkup(t *testing.T, markup string) string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader("<markup>" + markup + "</markup>"))
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return b.String()
		}
		if err != nil {
			t.Fatalf("markup %q does not parse: %v", markup, err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			b.Write(cd)
		}
	}
}

func TestDesktopDunst(t *testing.T) {
	needDesktop(t)
	dunstctl(t, "close-all")
	t.Cleanup(func() { exec.Command("dunstctl", "close-all").Run() })
	calls := watchNotify(t)
	n, err := New(Options{AppName: "Omnitray", DesktopEntry: "omnitray"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	d := n.(*dbusNotifier)
	self := d.conn.Names()[0]
	ctx := context.Background()

	const body = `Chaport goes offline in 1 min. Visitor wrote: <b>x</b> & <a href="y">`
	offline := Notification{Topic: "offline-soon", Title: "offline soon", Body: body,
		Actions: []Action{{Key: "stay-online", Label: "Stay online 5 min"}}}

	// 1. The call carries the escaped body, our hints and the action.
	if err := n.Notify(ctx, offline); err != nil {
		t.Fatal(err)
	}
	first := nextCall(t, calls, self)
	if first.body != html.EscapeString(body) || first.summary != "offline soon" || first.app != "Omnitray" || first.replaces != 0 {
		t.Errorf("first Notify: %+v", first.capturedNotify)
	}
	if first.hints["desktop-entry"].Value() != "omnitray" || first.hints["urgency"].Value() != byte(1) {
		t.Errorf("hints: %v", first.hints)
	}
	if !slices.Equal(first.actions, []string{"stay-online", "Stay online 5 min"}) {
		t.Errorf("actions: %q", first.actions)
	}
	id := d.lastID("offline-soon")
	if id == 0 {
		t.Fatal("no id remembered for the topic")
	}

	// 2. Same topic: replaces the bubble instead of stacking a second one.
	if err := n.Notify(ctx, offline); err != nil {
		t.Fatal(err)
	}
	if second := nextCall(t, calls, self); second.replaces != id {
		t.Errorf("second Notify replaces_id = %d, want %d", second.replaces, id)
	}
	if got := displayed(t); got != "1" {
		t.Errorf("displayed = %s after a replacement, want 1", got)
	}

	// 3. Invoking the action reaches Actions(). (dunstctl action does not
	// close the bubble; close-all does, and the topic is then forgotten.)
	dunstctl(t, "action", "0")
	if ev := recv(t, n.Actions()); ev != (ActionEvent{Topic: "offline-soon", Key: "stay-online"}) {
		t.Errorf("event = %+v", ev)
	}
	dunstctl(t, "close-all")
	waitFor(t, "the closed topic to be forgotten", func() bool { return d.lastID("offline-soon") == 0 })

	// 4. dunst shows the visitor's markup as literal text: its message is
	// "<b>summary</b>\nbody" in Pango markup, which parses like XML.
	msgs := historyMessages(t, "Omnitray")
	if len(msgs) == 0 {
		t.Fatal("no Omnitray notification in dunst's history")
	}
	if shown := renderMarkup(t, msgs[0]); shown != "offline soon\n"+body {
		t.Errorf("dunst shows %q, want the body verbatim", shown)
	}

	// 5. Another app's action is not ours. notify-send -A prints the key of
	// the action it receives, which proves dunst emitted the signal. (dunst
	// 1.9 sends its signals to the notification's sender only, so this
	// checks the end-to-end outcome; servers that broadcast, and the id
	// filter itself, are covered by TestBusNotifyReplaceAndSignals.)
	nsCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	foreign := exec.CommandContext(nsCtx, "notify-send", "-a", "foreign", "-A", "foreign-key=Go", "Foreign", "not ours")
	var out strings.Builder
	foreign.Stdout = &out
	if err := foreign.Start(); err != nil {
		t.Fatalf("start notify-send: %v", err)
	}
	waitFor(t, "the foreign notification", func() bool { return displayed(t) == "1" })
	dunstctl(t, "action", "0")
	dunstctl(t, "close-all") // notify-send waits for the close
	if err := foreign.Wait(); err != nil || strings.TrimSpace(out.String()) != "foreign-key" {
		t.Fatalf("notify-send: %v, printed %q", err, out.String())
	}
	// Signals from dunst arrive in order, so if the foreign action had got
	// through, it would come before this one.
	if err := n.Notify(ctx, Notification{Topic: "sentinel", Title: "sentinel",
		Actions: []Action{{Key: DefaultAction, Label: "Open"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sentinel notification", func() bool { return displayed(t) == "1" })
	dunstctl(t, "action", "0")
	if ev := recv(t, n.Actions()); ev != (ActionEvent{Topic: "sentinel", Key: DefaultAction}) {
		t.Errorf("first event after a foreign action = %+v, want the sentinel", ev)
	}
	dunstctl(t, "close-all")
	waitFor(t, "an empty screen", func() bool { return displayed(t) == "0" })

	// 6. Dismiss closes the topic's bubble.
	if err := n.Notify(ctx, Notification{Topic: "dismiss-me", Title: "dismiss me"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the notification to show", func() bool { return displayed(t) == "1" })
	if err := n.Dismiss(ctx, "dismiss-me"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the notification to close", func() bool { return displayed(t) == "0" })
	if d.lastID("dismiss-me") != 0 {
		t.Error("dismissed topic still tracked")
	}
}
