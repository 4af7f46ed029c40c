package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
)

// TestRunSaysGoodbyeBeforeReturning: when Run's context ends (SIGTERM, the
// tray's Quit), Run returns only after the hub has the close frame with 1001
// "going away", so a process exiting right after Run does not cut the
// connection (1006). The hub here is a bare websocket server that notes the
// close code before it answers the close, so the order is exact.
func TestRunSaysGoodbyeBeforeReturning(t *testing.T) {
	var code atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.SetCloseHandler(func(c int, text string) error {
			code.Store(int32(c))
			return ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c, ""), time.Now().Add(time.Second))
		})
		env, _ := feed.NewEnvelope(feed.TypeSnapshot, "", feed.Snapshot{Staff: feed.Person{ID: 201}, Statuses: testStatuses, StatusID: 2})
		raw, _ := json.Marshal(env)
		_ = ws.WriteMessage(websocket.TextMessage, raw)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	a, err := New(Config{HubURL: srv.URL, Token: "tok", Clock: clock.NewFake(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	states := a.Watch(ctx)
	for s := range states {
		if s.Connection == Connected {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := code.Load(); got != websocket.CloseGoingAway {
		t.Fatalf("when Run returned the hub had close code %d, want 1001", got)
	}
}

// TestSignOutOverTheControlSocket: `omnitray logout` reaches the running
// agent through the control socket and gets its answer; an agent that set
// no sign-out refuses, and no agent at all is ErrNoAgent.
func TestSignOutOverTheControlSocket(t *testing.T) {
	h := startAgent(t, 1)
	path := filepath.Join(t.TempDir(), "agent.sock")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := AskToSignOut(ctx, path); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("no agent: %v", err)
	}
	if err := h.a.ServeControl(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := AskToSignOut(ctx, path); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("an agent without a sign-out: %v", err)
	}
	called := make(chan struct{}, 1)
	h.a.OnSignOut(func() (string, func()) { return "signed out", func() { called <- struct{}{} } })
	msg, err := AskToSignOut(ctx, path)
	if err != nil || msg != "signed out" {
		t.Fatalf("sign-out answered %q, %v", msg, err)
	}
	<-called
}
