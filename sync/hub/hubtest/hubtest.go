// Package hubtest builds and runs a real hub on a sandbox's fakes (or any
// vendor endpoints), for the tests, benchmarks and test tools of other
// packages: one way to wire them, so that each says only what differs (its
// hub.json, its clock, its budget file, its state directory, its address).
package hubtest

import (
	"context"
	"io"
	"log/slog"
	"net"
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
	h, err := Build(hub.Vendors(sb.Endpoints()), file, tweak)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// Build is New on any vendor endpoints, returning its error: for a test
// that expects the hub to refuse, one whose Omnidesk is a fake of its own,
// or a program without a testing.TB.
func Build(v hub.Vendors, file string, tweak func(*hub.Config)) (*hub.Hub, error) {
	fc, err := hub.ParseFile([]byte(file))
	if err != nil {
		return nil, err
	}
	od, cp, err := v.Clients(fc)
	if err != nil {
		return nil, err
	}
	cfg := hub.Config{Omnidesk: od, Chaport: cp, Secret: Secret, File: fc, Logger: slog.New(slog.DiscardHandler)}
	if tweak != nil {
		tweak(&cfg)
	}
	return hub.New(cfg)
}

// Running is a hub serving on loopback.
type Running struct {
	*hub.Hub
	URL  string
	srv  *httptest.Server
	stop context.CancelFunc
	done chan struct{}
}

// Serve runs h behind an httptest server on a new loopback port until Stop,
// ctx's end or tb's end.
func Serve(tb testing.TB, ctx context.Context, h *hub.Hub) *Running {
	return ServeOn(tb, ctx, h, nil)
}

// ServeOn is Serve on ln (nil: a new loopback port), for a test that
// restarts its hub on the same address.
func ServeOn(tb testing.TB, ctx context.Context, h *hub.Hub, ln net.Listener) *Running {
	ctx, stop := context.WithCancel(ctx)
	srv := httptest.NewUnstartedServer(h.Handler())
	if ln != nil {
		_ = srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	r := &Running{Hub: h, srv: srv, stop: stop, done: make(chan struct{})}
	r.URL = r.srv.URL
	go func() {
		defer close(r.done)
		_ = h.Run(ctx)
	}()
	tb.Cleanup(r.Stop)
	return r
}

// Stop ends the hub as a process exit would: its pollers stop, its port
// closes and every agent's connection drops; then it waits for Run to return
// (it saves its state on the way out). It may be called more than once.
func (r *Running) Stop() {
	r.stop()
	r.srv.Close()
	<-r.done
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
