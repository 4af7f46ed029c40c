package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// agentConn is a feed client acting as one staff member's agent.
type agentConn struct {
	t      *testing.T
	c      *feed.Client
	events chan feed.Event
	status int64 // the last status seen
}

func connect(t *testing.T, s *stack, staff int64) *agentConn {
	t.Helper()
	tok, err := hub.Sign(testSecret, staff, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := feed.WebsocketURL(s.hubURL, false)
	c, err := feed.NewClient(feed.ClientOptions{URL: u, Token: tok, MinBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := &agentConn{t: t, c: c, events: make(chan feed.Event, 64)}
	go func() { _ = c.Run(ctx, a.events) }()
	a.waitStatus(-1)
	return a
}

// waitStatus waits until the feed has shown status id (-1: a snapshot).
func (a *agentConn) waitStatus(id int64) {
	a.t.Helper()
	guard := time.After(15 * time.Second)
	for id == -1 || a.status != id {
		select {
		case ev := <-a.events:
			if ev.Kind == feed.Connected {
				a.status = ev.Snapshot.StatusID
				if id == -1 {
					return
				}
			}
			if ev.Kind == feed.Message && ev.Env.Type == feed.TypeStatus {
				ch, _ := feed.DecodeData[feed.StatusChange](ev.Env)
				a.status = ch.StatusID
			}
		case <-guard:
			a.t.Fatalf("status %d never arrived", id)
		}
	}
}

func (a *agentConn) request(typ string, data any) (feed.ChaportState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := a.c.Request(ctx, typ, data)
	var st feed.ChaportState
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	return st, err
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var re *feed.RemoteError
	if !errors.As(err, &re) || re.Code != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func TestExtendOnlineOnlyThroughTheGrace(t *testing.T) {
	// The allowance runs on the real clock: 4 s leaves room for a loaded
	// machine to stall between the status change and the request.
	s := startStack(t, clock.Real{}, 1_000_000, `{"min_poll_interval": "20ms", "grace_allowance": "4s"}`)
	if err := s.sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusOnline); err != nil {
		t.Fatal(err)
	}
	anna := connect(t, s, sandbox.SeedStaffAnna)
	anna.waitStatus(sandbox.StatusOnline)
	if _, err := anna.request(feed.TypeSetChaport, feed.SetChaport{Status: "online", TTLSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	// With chat access an extension is an ordinary renewal.
	if st, err := anna.request(feed.TypeExtendOnline, feed.ExtendOnline{TTLSeconds: 60}); err != nil || st.TTLSeconds != 60 {
		t.Fatalf("extension with access: %+v, %v", st, err)
	}
	if err := s.sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusLunch); err != nil {
		t.Fatal(err)
	}
	anna.waitStatus(sandbox.StatusLunch)
	_, err := anna.request(feed.TypeSetChaport, feed.SetChaport{Status: "online", TTLSeconds: 60})
	wantCode(t, err, feed.CodeNoChatAccess)
	st, err := anna.request(feed.TypeExtendOnline, feed.ExtendOnline{TTLSeconds: 60})
	if err != nil || st.TTLSeconds < 1 || st.TTLSeconds > 4 {
		t.Fatalf("extension in the grace: %+v, %v (want capped to the 4 s allowance)", st, err)
	}
	time.Sleep(4100 * time.Millisecond) // the allowance runs out in real time
	_, err = anna.request(feed.TypeExtendOnline, feed.ExtendOnline{TTLSeconds: 60})
	wantCode(t, err, feed.CodeNoChatAccess)

	// Someone who never had chat access while the hub watched gets nothing.
	boris := connect(t, s, sandbox.SeedStaffBoris)
	_, err = boris.request(feed.TypeExtendOnline, feed.ExtendOnline{TTLSeconds: 60})
	wantCode(t, err, feed.CodeNoChatAccess)
	for _, c := range s.sb.Calls("chaport", 0) {
		if c.Path == "/api/v1/operators/"+sandbox.SeedOperatorBoris+"/status" {
			t.Fatalf("a refused extension wrote Boris's operator: %+v", c)
		}
	}
}
