package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
)

// feedConn is the test acting as an agent on the real hub's websocket feed,
// with the product's own client.
type feedConn struct {
	t      testing.TB
	client *feed.Client
	mu     sync.Mutex
	events []feed.Event
	runErr chan error
}

func newFeedClient(t testing.TB, hubURL, token string) *feed.Client {
	t.Helper()
	ws, err := feed.WebsocketURL(hubURL, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := feed.NewClient(feed.ClientOptions{URL: ws, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dialFeed runs a feed client until the test ends. Events are drained at
// once into a list (the client needs a prompt reader to answer pings).
func dialFeed(t testing.TB, hubURL, token string) *feedConn {
	t.Helper()
	f := &feedConn{t: t, client: newFeedClient(t, hubURL, token), runErr: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan feed.Event)
	go func() { f.runErr <- f.client.Run(ctx, out) }()
	go func() {
		for ev := range out {
			f.mu.Lock()
			f.events = append(f.events, ev)
			f.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-f.runErr
		close(out) // Run has returned: nothing sends any more
	})
	return f
}

// waitEvent waits for an event matching ok, among all received so far.
func (f *feedConn) waitEvent(what string, ok func(feed.Event) bool) feed.Event {
	f.t.Helper()
	var got feed.Event
	waitFor(f.t, what, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, ev := range f.events {
			if ok(ev) {
				got = ev
				return true
			}
		}
		return false
	})
	return got
}

func (f *feedConn) waitConnected() feed.Snapshot {
	f.t.Helper()
	return f.waitEvent("the hub's snapshot", func(ev feed.Event) bool { return ev.Kind == feed.Connected }).Snapshot
}

// request sends one request with a guard deadline: a hub that does not
// answer must fail the test, not hang it.
func (f *feedConn) request(typ string, data any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	return f.client.Request(ctx, typ, data)
}

// asRemote unwraps a *feed.RemoteError; any other answer fails the test.
func asRemote(t testing.TB, what string, err error) *feed.RemoteError {
	t.Helper()
	var re *feed.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("%s: got %v, want a *feed.RemoteError", what, err)
	}
	return re
}

// TestStatusSwitchRoundTrip switches Chen's Omnidesk status through the hub,
// as the tray's menu will, and sees it come back through the feed; then the
// same with an Omnidesk that refuses status writes.
func TestStatusSwitchRoundTrip(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	f := dialFeed(t, s.hubURL, s.token(staffChen))
	if snap := f.waitConnected(); snap.StatusID != statusOffline {
		t.Fatalf("snapshot status %d, want %d (Offline)", snap.StatusID, statusOffline)
	}

	seq, asked := s.lastSeq(), time.Now()
	if _, err := f.request(feed.TypeSwitchStatus, feed.SwitchStatus{StatusID: statusChatDuty}); err != nil {
		t.Fatalf("switch to %d: %v", statusChatDuty, err)
	}
	t.Logf("switch acknowledged after %s", time.Since(asked).Round(time.Millisecond))
	put := false
	for _, c := range s.calls("omnidesk", seq) {
		if c.Method == "PUT" && c.Path == "/api/staff/203.json" && c.Status == 200 &&
			strings.Contains(c.Body, `"status_id":130001`) {
			put = true
		}
	}
	if !put {
		t.Errorf("no accepted PUT /api/staff/203.json with \"status_id\":130001 in the call log: %+v", s.calls("omnidesk", seq))
	}
	// One source of truth: the new status arrives through the normal feed.
	f.waitEvent("a status message with 130001", func(ev feed.Event) bool {
		if ev.Kind != feed.Message || ev.Env.Type != feed.TypeStatus {
			return false
		}
		ch, err := feed.DecodeData[feed.StatusChange](ev.Env)
		return err == nil && ch.StatusID == statusChatDuty
	})
	t.Logf("new status back through the feed after %s", time.Since(asked).Round(time.Millisecond))

	s.control("POST", "/_sandbox/settings/omnidesk", map[string]string{"status_write": "refuse"}, nil)
	_, err := f.request(feed.TypeSwitchStatus, feed.SwitchStatus{StatusID: statusOnline})
	re := asRemote(t, "switch while Omnidesk refuses", err)
	if re.Code != feed.CodeRefused {
		t.Errorf("refused switch: code %q, want %q (message %q)", re.Code, feed.CodeRefused, re.Message)
	}
	// The tray shows this message as is, next to "Open Omnidesk".
	if m := re.Message; m == "" || strings.ContainsAny(m, "\r\n{<") || !strings.Contains(m, "Omnidesk") {
		t.Errorf("refusal message %q: want one plain line mentioning Omnidesk", m)
	}
	if got := s.staffStatus(staffChen); got != statusChatDuty {
		t.Errorf("after a refused switch Chen's status is %d, want still %d", got, statusChatDuty)
	}
}

// TestHubRefusals checks the security model (tokens name one employee and their operator) on the
// real hub: only valid tokens connect, and an agent may only write its own
// operator, and online only with chat access.
func TestHubRefusals(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	expired, err := hub.Sign([]byte(s.secret), staffAnna, time.Now().Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := hub.Sign([]byte("another-secret-of-32-bytes-long!"), staffAnna, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, token string }{
		{"expired", expired}, {"forged", forged}, {"garbage", "garbage"},
	} {
		t.Run("token "+tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			out := make(chan feed.Event, 64)
			go func() { // drain: the client reports each failed attempt
				for range out {
				}
			}()
			err := newFeedClient(t, s.hubURL, tc.token).Run(ctx, out)
			close(out)
			if !errors.Is(err, feed.ErrUnauthorized) {
				t.Fatalf("Run returned %v, want an error wrapping feed.ErrUnauthorized", err)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error %q quotes the token", err)
			}
		})
	}

	seq := s.lastSeq()
	f := dialFeed(t, s.hubURL, s.token(staffAnna))
	f.waitConnected()

	// Offline is always allowed. The hub links Anna to her operator by
	// e-mail once it has read Chaport's operator list; until then it says
	// not_linked, so retry on that one code only.
	waitFor(t, "an ack for Anna's own offline", func() bool {
		_, err := f.request(feed.TypeSetChaport, feed.SetChaport{Status: "offline", TTLSeconds: 60})
		if err == nil {
			return true
		}
		if re := asRemote(t, "offline for Anna", err); re.Code != feed.CodeNotLinked {
			t.Fatalf("offline for Anna: code %q (%s), want an ack", re.Code, re.Message)
		}
		return false
	})
	if w := s.waitWrite(opAnna, "offline", seq); w.ttl != 60 {
		t.Errorf("Anna's offline written with ttl %d, want 60", w.ttl)
	}

	_, err = f.request(feed.TypeSetChaport, feed.SetChaport{Status: "offline", TTLSeconds: 60, OperatorID: opBoris})
	if re := asRemote(t, "writing Boris's operator with Anna's token", err); re.Code != feed.CodeForbidden {
		t.Errorf("writing another operator: code %q, want %q", re.Code, feed.CodeForbidden)
	}

	// Anna is Offline in Omnidesk (seed data): no chat access, so no online.
	_, err = f.request(feed.TypeSetChaport, feed.SetChaport{Status: "online", TTLSeconds: 60})
	if re := asRemote(t, "online while Offline", err); re.Code != feed.CodeNoChatAccess {
		t.Errorf("online while Offline: code %q, want %q", re.Code, feed.CodeNoChatAccess)
	}

	if w := s.writes(opBoris, seq); len(w) != 0 {
		t.Errorf("Boris's operator was written after a forbidden request: %+v", w)
	}
	for _, w := range s.writes(opAnna, seq) {
		if w.status != "offline" {
			t.Errorf("Anna's operator got a %q write while she has no chat access", w.status)
		}
	}
}
