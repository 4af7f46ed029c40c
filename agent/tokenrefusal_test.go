package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/internal/syncbuf"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
)

// When the hub ends the session for the token's sake, the agent says so
// in plain words — in its log, its state (`omnitray status`) and Run's
// error — instead of "lost the hub", and stops instead of reconnecting.
func TestTokenEndedByHubIsSaidPlainly(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
	}{
		{feed.CloseTokenRevoked, feed.ReasonTokenRevoked},
		{feed.CloseTokenExpired, feed.ReasonTokenExpired},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			h := newFakeHub(t, 1)
			var logs syncbuf.Buffer
			a, err := New(Config{HubURL: h.srv.URL, Token: "tok", Clock: clock.NewFake(time.Now()),
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st := a.Watch(ctx)
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx) }()
			hs := &harness{fakeHub: h, a: a, st: st}
			hs.waitStatus(1)

			h.mu.Lock()
			h.conn.CloseWith(tc.code, tc.reason)
			h.mu.Unlock()
			var runErr error
			select {
			case runErr = <-done:
				if err := runErr; err == nil || err.Error() != tc.reason || !errors.Is(err, feed.ErrUnauthorized) {
					t.Fatalf("Run returned %v, want %q", err, tc.reason)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the agent kept going after the hub ended its token", logs.String())
			}
			if s := a.State(); s.Connection != Disconnected || s.ConnError != tc.reason {
				t.Fatalf("state: connection %q, error %q; want disconnected, %q", s.Connection, s.ConnError, tc.reason)
			}
			if !strings.Contains(logs.String(), tc.reason) || strings.Contains(logs.String(), "lost the hub") {
				t.Fatalf("log does not say %q plainly:\n%s", tc.reason, logs.String())
			}
			if got := StopReason(runErr); !strings.HasPrefix(got, tc.reason) {
				t.Fatalf("StopReason = %q", got)
			}
		})
	}
}

// A token refused for another reason (bad signature, unknown staff) ends
// Run with one clause that says the fix, not "connecting to the hub: connect
// to hub: feed: hub refused the token (…)" (issue 11 §5).
func TestRefusedTokenIsOneClauseWithTheFix(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "token refused: token signature does not match", http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	a, err := New(Config{HubURL: srv.URL, Token: "omt1.abcdef", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = a.Run(ctx)
	const want = "the hub refused the token (HTTP 401: token signature does not match) — ask for a new token, then run `omnitray login`"
	if err == nil || err.Error() != want || !errors.Is(err, feed.ErrUnauthorized) {
		t.Fatalf("Run returned %q, want %q", err, want)
	}
	if got := StopReason(err); !strings.Contains(got, "ask for a new token, then run `omnitray login`") {
		t.Fatalf("StopReason = %q", got)
	}
}
