package hub_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// guardStack is a hub on a fake clock with a state directory, driven until
// it has polled once, so that agents may connect.
type guardStack struct {
	fc  *clock.Fake
	dir string
	run *hubtest.Running
}

func startGuardStack(t *testing.T) *guardStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	fc := clock.NewFake(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Clock: fc})
	dir := t.TempDir()
	h := hubtest.New(t, sb, `{"chats": {"enabled": false}}`, func(c *hub.Config) { c.Clock, c.StateDir = fc, dir })
	r := hubtest.Serve(t, ctx, h)
	// The hub waits on two timers when idle (its pacer and the operator
	// refresh); move the clock to the next one until it has polled.
	deadline := time.Now().Add(15 * time.Second)
	for !healthy(r.URL) {
		if time.Now().After(deadline) {
			t.Fatal("the hub never became ready")
		}
		if fc.Pending() >= 2 {
			fc.AdvanceToNext()
		}
		time.Sleep(time.Millisecond)
	}
	return &guardStack{fc: fc, dir: dir, run: r}
}

func healthy(url string) bool {
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// runningAgent is a feed client whose Run result the test can await.
type runningAgent struct {
	c      *feed.Client
	events chan feed.Event
	done   chan error
}

func (g *guardStack) agent(t *testing.T, token string) *runningAgent {
	t.Helper()
	u, _ := feed.WebsocketURL(g.run.URL, false)
	c, err := feed.NewClient(feed.ClientOptions{URL: u, Token: token, MinBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := &runningAgent{c: c, events: make(chan feed.Event, 64), done: make(chan error, 1)}
	go func() { a.done <- c.Run(ctx, a.events) }()
	return a
}

func (a *runningAgent) waitConnected(t *testing.T) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev := <-a.events:
			if ev.Kind == feed.Connected {
				return
			}
		case err := <-a.done:
			t.Fatalf("the agent stopped before connecting: %v", err)
		case <-timeout:
			t.Fatal("the agent never connected")
		}
	}
}

// stopped waits for the agent's Run to return, within the guard.
func (a *runningAgent) stopped(t *testing.T, what string) error {
	t.Helper()
	select {
	case err := <-a.done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: the agent's session was not closed", what)
	}
	return nil
}

func (g *guardStack) sign(t *testing.T, staff int64, ttl time.Duration) string {
	t.Helper()
	tok, err := hub.Sign(hubtest.Secret, staff, g.fc.Now(), ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A revocation written by the token command reaches the running hub: the
// revoked employee's live session is closed with the revoked code, a new
// handshake is refused with 401 and the same words, and another employee
// stays connected.
func TestRevocationClosesLiveSessionAndRefusesHandshake(t *testing.T) {
	g := startGuardStack(t)
	annaToken := g.sign(t, sandbox.SeedStaffAnna, time.Hour)
	anna := g.agent(t, annaToken)
	boris := g.agent(t, g.sign(t, sandbox.SeedStaffBoris, time.Hour))
	anna.waitConnected(t)
	boris.waitConnected(t)

	if err := hub.RevokeStaff(g.dir, sandbox.SeedStaffAnna, g.fc.Now()); err != nil {
		t.Fatal(err)
	}
	if err := anna.stopped(t, "revoked"); !errors.Is(err, feed.ErrTokenRevoked) {
		t.Fatalf("Anna's agent stopped with %v, want feed.ErrTokenRevoked", err)
	}
	select {
	case err := <-boris.done:
		t.Fatalf("Boris's agent stopped too: %v", err)
	default:
	}

	req, _ := http.NewRequest(http.MethodGet, g.run.URL+feed.FeedPath, nil)
	req.Header.Set("Authorization", "Bearer "+annaToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), feed.ReasonTokenRevoked) ||
		resp.Header.Get(feed.RefusalHeader) != "4403" {
		t.Fatalf("handshake with the revoked token: %d %q (%s %q)", resp.StatusCode, body,
			feed.RefusalHeader, resp.Header.Get(feed.RefusalHeader))
	}
	again := g.agent(t, annaToken)
	if err := again.stopped(t, "reconnect"); !errors.Is(err, feed.ErrTokenRevoked) {
		t.Fatalf("reconnecting with the revoked token: %v, want feed.ErrTokenRevoked", err)
	}

	// The hub records when it saw each token, for `token list`.
	g.run.Stop()
	seen, err := hub.ReadTokenSeen(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	staff := map[int64]bool{}
	for _, s := range seen.Seen {
		staff[s.Staff] = !s.LastSeen.IsZero()
	}
	if !staff[sandbox.SeedStaffAnna] || !staff[sandbox.SeedStaffBoris] {
		t.Fatalf("token-seen.json after shutdown: %+v", seen.Seen)
	}
}

// A session ends when its token expires, not only the next handshake.
func TestExpiryClosesLiveSession(t *testing.T) {
	g := startGuardStack(t)
	anna := g.agent(t, g.sign(t, sandbox.SeedStaffAnna, time.Hour))
	boris := g.agent(t, g.sign(t, sandbox.SeedStaffBoris, 3*time.Hour))
	anna.waitConnected(t)
	boris.waitConnected(t)
	g.fc.Advance(time.Hour)
	if err := anna.stopped(t, "expired"); !errors.Is(err, feed.ErrTokenExpired) {
		t.Fatalf("Anna's agent stopped with %v, want feed.ErrTokenExpired", err)
	}
	select {
	case err := <-boris.done:
		t.Fatalf("Boris's agent, whose token is still good, stopped: %v", err)
	default:
	}
}
