package feed

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/internal/syncbuf"
	"github.com/omnitray/omnitray/sync/clock"
)

// tryAddress runs a client against a server answering every handshake with
// status, for tries attempts on a fake clock, and returns the log and the
// wait before each retry.
func tryAddress(t *testing.T, status, tries int) (string, []time.Duration) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "404 page not found", status)
	}))
	t.Cleanup(srv.Close)
	u, _ := WebsocketURL(srv.URL, false)
	fake := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var logs syncbuf.Buffer
	c, err := NewClient(ClientOptions{URL: u, Token: testToken, Clock: fake, MinBackoff: time.Second, MaxBackoff: 4 * time.Second,
		Rand: func() float64 { return 0.5 }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan Event, 64)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, events) }()
	t.Cleanup(func() { cancel(); <-done })
	var waits []time.Duration
	for range tries {
		if ev := next(t, events, Disconnected); ev.Err == nil {
			t.Fatal("Disconnected without a reason")
		}
		deadline := time.Now().Add(guard)
		for fake.Pending() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("Run armed no backoff timer")
			}
			time.Sleep(time.Millisecond)
		}
		before := fake.Now()
		fake.AdvanceToNext()
		waits = append(waits, fake.Now().Sub(before))
	}
	return logs.String(), waits
}

// An address that answers, but never as a hub (a 404 from another server),
// is said once as "never connected to <url>: …; check the hub URL", and then
// tried only every few minutes, not logged and retried at full speed
// forever (issue 11 §5).
func TestNotAHubIsSaidOnceAndTriedRarely(t *testing.T) {
	logs, waits := tryAddress(t, http.StatusNotFound, 6)
	if n := strings.Count(logs, "never connected to http://127.0.0.1:"); n != 1 {
		t.Fatalf("%d 'never connected' lines, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, "HTTP 404") || !strings.Contains(logs, "check the hub URL (--hub)") {
		t.Fatalf("the line does not say why and what to check:\n%s", logs)
	}
	if n := strings.Count(logs, "\n"); n > 2 {
		t.Fatalf("%d log lines for 6 tries of one cause, want at most 2:\n%s", n, logs)
	}
	if strings.Contains(logs, "disconnected") {
		t.Fatalf("a hub never connected to is not 'disconnected':\n%s", logs)
	}
	for i, w := range waits {
		if i < hopelessAfter-1 && w > 4*time.Second {
			t.Errorf("wait %d: %v, want the normal backoff before the address is judged", i, w)
		}
		if i >= hopelessAfter-1 && w < HopelessBackoff/2 {
			t.Errorf("wait %d: %v, want at least %v once the address is judged not a hub", i, w, HopelessBackoff/2)
		}
	}
}

// A hub that is down (503 from its proxy) is not judged hopeless: it keeps
// the normal backoff, and an unchanged reason is logged once, not per try.
func TestHubDownKeepsNormalBackoffAndLogsOnce(t *testing.T) {
	logs, waits := tryAddress(t, http.StatusServiceUnavailable, 6)
	if strings.Contains(logs, "never connected") {
		t.Fatalf("a 503 judged hopeless:\n%s", logs)
	}
	if n := strings.Count(logs, "\n"); n != 1 {
		t.Fatalf("%d log lines for 6 tries of one cause, want 1:\n%s", n, logs)
	}
	for i, w := range waits {
		if w > 4*time.Second {
			t.Errorf("wait %d: %v, want at most MaxBackoff", i, w)
		}
	}
}
