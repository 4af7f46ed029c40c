package feed

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omnitray/omnitray/internal/syncbuf"
	"github.com/omnitray/omnitray/sync/clock"
)

// These tests run the client on a fake clock that they never move unless
// they say so: a reconnect that needed a backoff timer would never happen,
// and next would fail after guard.

func fakeClock() *clock.Fake { return clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) }

// replicas sets a client up for several feed URLs on clk, with a backoff
// long enough that nothing in a test could have waited it out by accident.
func replicas(clk clock.Clock, urls ...string) func(*ClientOptions) {
	return func(o *ClientOptions) {
		o.URL, o.URLs, o.Clock = "", urls, clk
		o.MinBackoff, o.MaxBackoff = time.Hour, 2*time.Hour
		o.Rand = func() float64 { return 0.5 }
	}
}

// awaitTimer waits for Run to arm its backoff timer, that is, to be done
// with the round.
func awaitTimer(t *testing.T, fake *clock.Fake) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for fake.Pending() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run armed no backoff timer")
		}
		time.Sleep(time.Millisecond)
	}
}

// answering runs a server that answers every handshake with status (a hub
// that is down behind its proxy: 503; not a hub: 404) and counts them.
func answering(t *testing.T, status int) (string, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, http.StatusText(status), status)
	}))
	t.Cleanup(srv.Close)
	u, err := WebsocketURL(srv.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	return u, &hits
}

// deadAddress is a feed URL nothing listens at any more.
func deadAddress(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u, err := WebsocketURL(srv.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	return u
}

// The replica the agent is connected to dies: the agent is on the next one
// at once, with no backoff timer armed, let alone waited out.
func TestFailoverToNextReplicaAtOnce(t *testing.T) {
	a, b := newTestHub(t, ServerOptions{}, false), newTestHub(t, ServerOptions{}, false)
	fake := fakeClock()
	_, events := startClient(t, "", replicas(fake, a.url, b.url))

	if ev := next(t, events, Connected); ev.URL != a.url {
		t.Fatalf("first connection to %s, want the first URL %s", ev.URL, a.url)
	}
	recv(t, a.conns, "connection at the first replica")
	a.kill()
	if ev := next(t, events, Disconnected); ev.URL != a.url || ev.Err == nil {
		t.Fatalf("Disconnected from %q (%v), want from %s with a reason", ev.URL, ev.Err, a.url)
	}
	ev := next(t, events, Connected)
	if ev.URL != b.url || ev.Snapshot.StatusID != 1 {
		t.Fatalf("reconnected to %s (snapshot %d), want the second replica's first snapshot", ev.URL, ev.Snapshot.StatusID)
	}
	if n := fake.Pending(); n != 0 {
		t.Fatalf("%d timers pending after the failover, want none", n)
	}
}

// A replica that ends the session but is still up is not asked again first:
// the reconnect goes to another replica. When that one drops too, the
// first is tried again at once (a rolling restart of the cluster).
func TestDropPrefersAnotherReplica(t *testing.T) {
	a, b := newTestHub(t, ServerOptions{}, false), newTestHub(t, ServerOptions{}, false)
	fake := fakeClock()
	_, events := startClient(t, "", replicas(fake, a.url, b.url))

	next(t, events, Connected)
	_ = recv(t, a.conns, "connection at a").Close()
	next(t, events, Disconnected)
	if ev := next(t, events, Connected); ev.URL != b.url {
		t.Fatalf("reconnected to %s, want the other replica %s", ev.URL, b.url)
	}
	if n := a.n.Load(); n != 1 {
		t.Fatalf("%d connections at the replica that dropped, want 1", n)
	}
	_ = recv(t, b.conns, "connection at b").Close()
	next(t, events, Disconnected)
	if ev := next(t, events, Connected); ev.URL != a.url || ev.Snapshot.StatusID != 2 {
		t.Fatalf("reconnected to %s (snapshot %d), want %s again", ev.URL, ev.Snapshot.StatusID, a.url)
	}
	if n := fake.Pending(); n != 0 {
		t.Fatalf("%d timers pending, want none", n)
	}
}

// A replica that cannot be reached at the start is skipped at once, and so
// is one that answers the handshake but not as a hub.
func TestUnreachableReplicasSkippedAtOnce(t *testing.T) {
	notHub, _ := answering(t, http.StatusNotFound)
	h := newTestHub(t, ServerOptions{}, false)
	dead := deadAddress(t)
	fake := fakeClock()
	_, events := startClient(t, "", replicas(fake, dead, notHub, h.url))

	if ev := next(t, events, Disconnected); ev.URL != dead {
		t.Fatalf("first failure at %s, want %s", ev.URL, dead)
	}
	if ev := next(t, events, Disconnected); ev.URL != notHub || !errors.Is(ev.Err, ErrNotAHub) {
		t.Fatalf("second failure at %s (%v), want %s not being a hub", ev.URL, ev.Err, notHub)
	}
	if ev := next(t, events, Connected); ev.URL != h.url {
		t.Fatalf("connected to %s, want %s", ev.URL, h.url)
	}
	if n := fake.Pending(); n != 0 {
		t.Fatalf("%d timers pending, want none", n)
	}
}

// When every replica is down, each round asks each of them once, and only
// then waits the backoff, which grows per round, not per try. Each
// replica's reason is logged once, naming it.
func TestAllReplicasDownBackOffPerRound(t *testing.T) {
	urlA, hitsA := answering(t, http.StatusServiceUnavailable)
	urlB, hitsB := answering(t, http.StatusServiceUnavailable)
	fake := fakeClock()
	var logs syncbuf.Buffer
	_, events := startClient(t, "", func(o *ClientOptions) {
		replicas(fake, urlA, urlB)(o)
		o.MinBackoff, o.MaxBackoff = time.Second, 8*time.Second
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 6 * time.Second}
	for round, w := range want {
		for _, u := range []string{urlA, urlB} {
			if ev := next(t, events, Disconnected); ev.URL != u {
				t.Fatalf("round %d: failure at %s, want %s", round, ev.URL, u)
			}
		}
		awaitTimer(t, fake)
		if a, b := hitsA.Load(), hitsB.Load(); a != int64(round+1) || b != int64(round+1) {
			t.Fatalf("round %d: %d and %d handshakes, want %d at each replica", round, a, b, round+1)
		}
		before := fake.Now()
		fake.AdvanceToNext()
		if got := fake.Now().Sub(before); got != w {
			t.Errorf("wait after round %d: %v, want %v", round, got, w)
		}
	}
	out := logs.String()
	for _, u := range []string{urlA, urlB} {
		if n := strings.Count(out, "not connected to "+HubBase(u)+" yet"); n != 1 {
			t.Errorf("%d lines for %s, want 1:\n%s", n, HubBase(u), out)
		}
	}
	if strings.Contains(out, testToken) {
		t.Fatalf("the log has the token:\n%s", out)
	}
}

// Replicas that all send a snapshot and hang up at once (a bad release)
// get the other replicas' turn, but do not keep the agent reconnecting
// without a wait.
func TestFlappingReplicasStillBackOff(t *testing.T) {
	flap := func(ctx context.Context, n int64, ws *websocket.Conn) { writeEnv(t, ws, TypeSnapshot, testSnapshot(n)) }
	urlA, urlB := rawHub(t, flap), rawHub(t, flap)
	fake := fakeClock()
	_, events := startClient(t, "", replicas(fake, urlA, urlB))
	connects := 0
	deadline := time.Now().Add(guard)
	for fake.Pending() == 0 {
		select {
		case ev := <-events:
			if ev.Kind == Connected {
				connects++
			}
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no backoff timer after %d connections", connects)
		}
	}
	for len(events) > 0 {
		if ev := <-events; ev.Kind == Connected {
			connects++
		}
	}
	// Each replica may drop the agent once before a wait, and the one it
	// came from is asked again only after that: three connections.
	if connects != 3 {
		t.Fatalf("%d connections before the first wait, want 3", connects)
	}
}

// A replica that closes the session for the employee's session cap speaks
// for the cluster: no other replica is asked, the longest wait comes first.
func TestTooManySessionsWaitsLongestWithoutFailover(t *testing.T) {
	a, b := newTestHub(t, ServerOptions{}, false), newTestHub(t, ServerOptions{}, false)
	fake := fakeClock()
	_, events := startClient(t, "", func(o *ClientOptions) {
		replicas(fake, a.url, b.url)(o)
		o.MinBackoff, o.MaxBackoff = time.Second, 8*time.Second
	})
	next(t, events, Connected)
	recv(t, a.conns, "connection at a").CloseWith(CloseTooManySessions, "replaced by a newer connection")
	next(t, events, Disconnected)
	awaitTimer(t, fake)
	if n := b.n.Load(); n != 0 {
		t.Fatalf("%d connections at the other replica before the wait, want 0", n)
	}
	before := fake.Now()
	fake.AdvanceToNext()
	if got := fake.Now().Sub(before); got != 6*time.Second {
		t.Fatalf("waited %v, want the longest backoff, 6s with this jitter", got)
	}
	next(t, events, Connected)
}

// A refused token stops the client even when another replica was tried
// first: they share the token's secret and revocations.
func TestRefusedTokenAtAnyReplicaStops(t *testing.T) {
	refuses, _ := answering(t, http.StatusUnauthorized)
	fake := fakeClock()
	opts := ClientOptions{Token: testToken}
	replicas(fake, deadAddress(t), refuses)(&opts)
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(reqCtx(t), make(chan Event, 8)); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Run returned %v, want ErrUnauthorized", err)
	}
}

// Addresses none of which is a hub are each said once as "never
// connected", and only when all are judged is the list tried rarely.
func TestNoReplicaIsAHubSlowsDownPerRound(t *testing.T) {
	urlA, _ := answering(t, http.StatusNotFound)
	urlB, _ := answering(t, http.StatusNotFound)
	fake := fakeClock()
	var logs syncbuf.Buffer
	_, events := startClient(t, "", func(o *ClientOptions) {
		replicas(fake, urlA, urlB)(o)
		o.MinBackoff, o.MaxBackoff = time.Second, 4*time.Second
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for round := range hopelessAfter + 2 {
		next(t, events, Disconnected)
		next(t, events, Disconnected)
		awaitTimer(t, fake)
		before := fake.Now()
		fake.AdvanceToNext()
		w := fake.Now().Sub(before)
		if round < hopelessAfter-1 && w > 4*time.Second {
			t.Errorf("wait %d: %v, want the normal backoff before the addresses are judged", round, w)
		}
		if round >= hopelessAfter-1 && w < HopelessBackoff/2 {
			t.Errorf("wait %d: %v, want at least %v once every address is judged not a hub", round, w, HopelessBackoff/2)
		}
	}
	out := logs.String()
	for _, u := range []string{urlA, urlB} {
		if n := strings.Count(out, "never connected to "+HubBase(u)+":"); n != 1 {
			t.Errorf("%d 'never connected' lines for %s, want 1:\n%s", n, HubBase(u), out)
		}
	}
}

// One address that is not a hub among replicas that are merely down is
// said as "never connected", but does not slow the others' retries.
func TestOneWrongAddressDoesNotSlowTheRest(t *testing.T) {
	notHub, _ := answering(t, http.StatusNotFound)
	down, _ := answering(t, http.StatusServiceUnavailable)
	fake := fakeClock()
	var logs syncbuf.Buffer
	_, events := startClient(t, "", func(o *ClientOptions) {
		replicas(fake, notHub, down)(o)
		o.MinBackoff, o.MaxBackoff = time.Second, 4*time.Second
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for round := range hopelessAfter + 2 {
		next(t, events, Disconnected)
		next(t, events, Disconnected)
		awaitTimer(t, fake)
		before := fake.Now()
		fake.AdvanceToNext()
		if w := fake.Now().Sub(before); w > 4*time.Second {
			t.Errorf("wait %d: %v, want at most MaxBackoff while a replica may come back", round, w)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "never connected to "+HubBase(notHub)+":"); n != 1 {
		t.Errorf("%d 'never connected' lines for the wrong address, want 1:\n%s", n, out)
	}
	if strings.Contains(out, "never connected to "+HubBase(down)) || strings.Contains(out, "trying again every") {
		t.Errorf("the replica that is down was judged, or the list said to be slowed:\n%s", out)
	}
}

func TestNewClientURLs(t *testing.T) {
	a, b := "wss://a.acme.example/v1/feed", "wss://b.acme.example/v1/feed"
	for _, tc := range []struct {
		name    string
		url     string
		urls    []string
		want    []string
		wantErr string
	}{
		{"URL only", a, nil, []string{a}, ""},
		{"URLs only", "", []string{a, b}, []string{a, b}, ""},
		{"URL first", b, []string{a, b}, []string{b, a}, ""},
		{"none", "", nil, nil, "no hub URL"},
		{"bad item", "", []string{a, "https://b.acme.example"}, nil, "URL 2 of 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(ClientOptions{URL: tc.url, URLs: tc.urls, Token: testToken})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("NewClient = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || strings.Join(c.urls, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("NewClient: urls %q, %v; want %q", c.urls, err, tc.want)
			}
		})
	}
}
