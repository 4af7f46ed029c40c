package feed

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// guard bounds every wait in these tests. It is a failure detector only:
// nothing passes or fails because something was fast or slow.
const guard = 20 * time.Second

const testToken = "tok-3b7f9c2e-do-not-log-me"

// testHub is a minimal hub: it checks the token, sends a snapshot whose
// StatusID counts connections (so a test can tell a fresh snapshot from an
// old one), answers requests, and hands each connection to the test.
type testHub struct {
	srv      *httptest.Server
	url      string
	opts     ServerOptions
	holdRead bool // leave read_operator unanswered
	ctx      context.Context
	cancel   context.CancelFunc
	n        atomic.Int64
	wg       sync.WaitGroup
	conns    chan *ServerConn
	reqs     chan Envelope
	ended    chan error
}

func newTestHub(t *testing.T, opts ServerOptions, holdRead bool) *testHub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &testHub{
		opts: opts, holdRead: holdRead, ctx: ctx, cancel: cancel,
		conns: make(chan *ServerConn, 16),
		reqs:  make(chan Envelope, 64),
		ended: make(chan error, 16),
	}
	h.srv = httptest.NewServer(http.HandlerFunc(h.handle))
	u, err := WebsocketURL(h.srv.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	h.url = u
	t.Cleanup(h.kill)
	return h
}

// kill stops the hub as a crash or a shutdown would: its sessions end, and
// nothing answers at its address any more.
func (h *testHub) kill() {
	h.cancel()
	h.wg.Wait()
	h.srv.Close()
}

func testSnapshot(n int64) Snapshot {
	return Snapshot{
		Staff:    Person{ID: 42, Name: "Anna", Email: "anna@acme.example"},
		Operator: &Operator{ID: "op-1", Name: "Anna", Email: "anna@acme.example"},
		Statuses: []Status{
			{ID: 1, Name: "Online", ChatAccess: true, Active: true},
			{ID: 2, Name: "Offline", Active: true},
			{ID: 3, Name: "Without chats", Active: true},
		},
		StatusID:    n,
		ObservedAt:  time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		OmnideskURL: "https://acme.omnidesk.ru",
	}
}

func (h *testHub) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != FeedPath {
		http.NotFound(w, r)
		return
	}
	if tok := BearerToken(r); tok != testToken {
		// Echoing the token is a hub bug on purpose: the client must still
		// keep it out of its errors.
		http.Error(w, "bad token "+tok, http.StatusUnauthorized)
		return
	}
	if h.ctx.Err() != nil {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	defer h.wg.Done()
	c, err := Accept(w, r, h.opts)
	if err != nil {
		return
	}
	env, _ := NewEnvelope(TypeSnapshot, "", testSnapshot(h.n.Add(1)))
	_ = c.Send(env)
	select {
	case h.conns <- c:
	case <-h.ctx.Done():
	}
	go func() {
		for req := range c.Requests() {
			select {
			case h.reqs <- req:
			default:
			}
			h.answer(c, req)
		}
	}()
	err = c.Serve(h.ctx)
	select {
	case h.ended <- err:
	default:
	}
}

func (h *testHub) answer(c *ServerConn, req Envelope) {
	switch req.Type {
	case TypeSwitchStatus:
		d, err := DecodeData[SwitchStatus](req)
		switch {
		case err != nil:
			_ = c.ReplyError(req, CodeBadRequest, "bad payload")
		case d.StatusID == 99:
			_ = c.ReplyError(req, CodeNoChatAccess, "status 99 gives no chat access")
		default:
			_ = c.Reply(req, nil)
			env, _ := NewEnvelope(TypeStatus, "", StatusChange{StatusID: d.StatusID, ObservedAt: time.Now().UTC()})
			_ = c.Send(env)
		}
	case TypeSetChaport:
		d, _ := DecodeData[SetChaport](req)
		_ = c.Reply(req, ChaportState{Status: d.Status, LastStatus: "offline", RealStatus: d.Status,
			ExpiresAt: time.Date(2026, 3, 2, 9, 2, 0, 0, time.UTC)})
	case TypeReadOperator:
		if !h.holdRead {
			_ = c.Reply(req, ChaportState{Status: "offline", LastStatus: "online", RealStatus: "offline"})
		}
	}
}

// rawHub runs fn on each upgraded connection, for misbehaving hubs that
// ServerConn would never be.
func rawHub(t *testing.T, fn func(ctx context.Context, n int64, ws *websocket.Conn)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []*websocket.Conn
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		open = append(open, ws)
		mu.Unlock()
		defer ws.Close()
		fn(ctx, n.Add(1), ws)
	}))
	t.Cleanup(func() {
		cancel()
		mu.Lock()
		for _, ws := range open {
			ws.Close()
		}
		mu.Unlock()
		wg.Wait()
		srv.Close()
	})
	u, err := WebsocketURL(srv.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// drain keeps a raw connection read (so pings are answered) until it ends.
func drain(ws *websocket.Conn) {
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
	}
}

func writeEnv(t *testing.T, ws *websocket.Conn, typ string, data any) {
	env, err := NewEnvelope(typ, "", data)
	if err != nil {
		t.Error(err)
		return
	}
	if err := ws.WriteJSON(env); err != nil {
		t.Error(err)
	}
}

func startClient(t *testing.T, url string, mod func(*ClientOptions)) (*Client, <-chan Event) {
	t.Helper()
	opts := ClientOptions{URL: url, Token: testToken, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, events) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(guard):
			t.Error("Run did not return after cancel")
		}
	})
	return c, events
}

func next(t *testing.T, events <-chan Event, want EventKind) Event {
	t.Helper()
	select {
	case ev := <-events:
		if ev.Kind != want {
			t.Fatalf("got %v event (err %v, env %+v), want %v", ev.Kind, ev.Err, ev.Env, want)
		}
		return ev
	case <-time.After(guard):
		t.Fatalf("no %v event", want)
	}
	return Event{}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("no %s", what)
	}
	var zero T
	return zero
}

func reqCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return ctx
}

func dialRaw(t *testing.T, url string, hdr http.Header) *websocket.Conn {
	t.Helper()
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set("Authorization", "Bearer "+testToken)
	ws, _, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func readEnv(t *testing.T, ws *websocket.Conn) Envelope {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(guard))
	_, frame, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	env, err := Decode(frame)
	if err != nil {
		t.Fatalf("decode %s: %v", frame, err)
	}
	return env
}
