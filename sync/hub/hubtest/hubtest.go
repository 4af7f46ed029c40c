// Package hubtest builds and runs a real hub on a sandbox's fakes, for the
// tests and benchmarks of other packages: one way to wire them, so that each
// test says only what differs (its hub.json, its clock, its budget file).
package hubtest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// Secret signs the agents' tokens for every hub built here.
var Secret = []byte("hubtest-secret-0123456789abcdef0")

// New builds a hub on sb's fakes from a hub.json text, with Secret and a
// silent logger; tweak, if set, edits the config first. Errors end tb.
func New(tb testing.TB, sb *sandbox.Sandbox, file string, tweak func(*hub.Config)) *hub.Hub {
	tb.Helper()
	fc, err := hub.ParseFile([]byte(file))
	if err != nil {
		tb.Fatal(err)
	}
	od, cp, err := hub.Vendors(sb.Endpoints()).Clients(fc)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := hub.Config{Omnidesk: od, Chaport: cp, Secret: Secret, File: fc, Logger: slog.New(slog.DiscardHandler)}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := hub.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// Running is a hub serving on loopback.
type Running struct {
	*hub.Hub
	URL  string
	srv  *httptest.Server
	stop context.CancelFunc
	done chan struct{}
}

// Serve runs h behind an httptest server until Stop, ctx's end or tb's end.
func Serve(tb testing.TB, ctx context.Context, h *hub.Hub) *Running {
	ctx, stop := context.WithCancel(ctx)
	r := &Running{Hub: h, srv: httptest.NewServer(h.Handler()), stop: stop, done: make(chan struct{})}
	r.URL = r.srv.URL
	go func() {
		defer close(r.done)
		_ = h.Run(ctx)
	}()
	tb.Cleanup(r.Stop)
	return r
}

// Stop ends the hub and waits for Run to return (it saves its state on the
// way out), then closes the server. It may be called more than once.
func (r *Running) Stop() {
	r.stop()
	<-r.done
	r.srv.Close()
}

// WaitReady waits until /healthz answers 200: the first staff poll is in
// and agents may connect.
func (r *Running) WaitReady(tb testing.TB, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		if resp, err := http.Get(r.URL + "/healthz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("hub not ready after %v", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Token signs a token for staff with Secret, valid for an hour.
func Token(tb testing.TB, staff int64) string {
	tb.Helper()
	tok, err := hub.Sign(Secret, staff, time.Now(), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// StartSandbox starts a sandbox of cfg, serving until ctx ends; errors end
// tb.
func StartSandbox(tb testing.TB, ctx context.Context, cfg sandbox.Config) *sandbox.Sandbox {
	tb.Helper()
	sb := sandbox.New(cfg)
	if err := sb.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	return sb
}
