package feed

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omnitray/omnitray/sync/clock"
)

func TestSnapshotMessagesAndRequests(t *testing.T) {
	h := newTestHub(t, ServerOptions{}, false)
	c, events := startClient(t, h.url, nil)

	snap := next(t, events, Connected).Snapshot
	if snap.StatusID != 1 || snap.Operator == nil || snap.Operator.ID != "op-1" || len(snap.Statuses) != 3 ||
		!snap.Statuses[0].ChatAccess || snap.Staff.Email != "anna@acme.example" {
		t.Fatalf("snapshot = %+v", snap)
	}

	sc := recv(t, h.conns, "server connection")
	env, _ := NewEnvelope(TypeStatus, "", StatusChange{StatusID: 2})
	if err := sc.Send(env); err != nil {
		t.Fatal(err)
	}
	msg := next(t, events, Message).Env
	if sc, err := DecodeData[StatusChange](msg); msg.Type != TypeStatus || err != nil || sc.StatusID != 2 {
		t.Fatalf("message = %+v (%v)", msg, err)
	}

	raw, err := c.Request(reqCtx(t), TypeSetChaport, SetChaport{Status: "online", TTLSeconds: 120})
	if err != nil {
		t.Fatal(err)
	}
	st, err := DecodeData[ChaportState](Envelope{Data: raw})
	if err != nil || st.Status != "online" || st.RealStatus != "online" || st.ExpiresAt.IsZero() {
		t.Fatalf("set_chaport ack = %s (%v)", raw, err)
	}

	_, err = c.Request(reqCtx(t), TypeSwitchStatus, SwitchStatus{StatusID: 99})
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != CodeNoChatAccess || !strings.HasPrefix(err.Error(), "hub refused: ") {
		t.Fatalf("switch to 99: %v, want a no_chat_access RemoteError", err)
	}

	if _, err := c.Request(reqCtx(t), TypeSwitchStatus, SwitchStatus{StatusID: 3}); err != nil {
		t.Fatal(err)
	}
	msg = next(t, events, Message).Env
	if sc, _ := DecodeData[StatusChange](msg); sc.StatusID != 3 {
		t.Fatalf("after switch, message = %+v", msg)
	}

	raw, err = c.Request(reqCtx(t), TypeReadOperator, struct{}{})
	if st, _ := DecodeData[ChaportState](Envelope{Data: raw}); err != nil || st.RealStatus != "offline" {
		t.Fatalf("read_operator = %s (%v)", raw, err)
	}
}

func TestServerIgnoresUnknownAndOtherVersionsAndAnswersBadJSON(t *testing.T) {
	h := newTestHub(t, ServerOptions{}, false)
	ws := dialRaw(t, h.url, nil)
	if env := readEnv(t, ws); env.Type != TypeSnapshot {
		t.Fatalf("first frame %+v", env)
	}
	for _, f := range []string{
		`{"v":1,"type":"future_thing","id":"x"}`,
		`{"v":2,"type":"switch_status","id":"y","data":{"status_id":3}}`,
		`{not json`,
		`{"v":1,"type":7,"id":"q"}`,
		`{"v":1,"type":"read_operator"}`,
		`{"v":1,"type":"read_operator","id":"z"}`,
	} {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	want := []struct{ typ, id, code string }{
		{TypeError, "", CodeBadRequest},
		{TypeError, "q", CodeBadRequest},
		{TypeError, "", CodeBadRequest},
		{TypeAck, "z", ""},
	}
	for i, w := range want {
		env := readEnv(t, ws)
		body, _ := DecodeData[ErrorBody](env)
		if env.Type != w.typ || env.ID != w.id || body.Code != w.code {
			t.Fatalf("answer %d = %+v (%+v), want %+v", i, env, body, w)
		}
	}
	if req := recv(t, h.reqs, "request"); req.ID != "z" {
		t.Fatalf("hub got request %+v, want only z", req)
	}
	select {
	case req := <-h.reqs:
		t.Fatalf("hub got ignored request %+v", req)
	default:
	}
}

func TestClientIgnoresJunkFromHub(t *testing.T) {
	url := rawHub(t, func(ctx context.Context, n int64, ws *websocket.Conn) {
		writeEnv(t, ws, TypeSnapshot, testSnapshot(n))
		for _, f := range []string{`garbage`, `{"v":2,"type":"status","data":{"status_id":8}}`, `{"v":1,"type":"future"}`} {
			_ = ws.WriteMessage(websocket.TextMessage, []byte(f))
		}
		_ = ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
		writeEnv(t, ws, TypeStatus, StatusChange{StatusID: 5})
		drain(ws)
	})
	_, events := startClient(t, url, nil)
	next(t, events, Connected)
	msg := next(t, events, Message).Env
	if sc, _ := DecodeData[StatusChange](msg); sc.StatusID != 5 {
		t.Fatalf("first message = %+v, want status 5", msg)
	}
}

func TestFirstFrameMustBeSnapshot(t *testing.T) {
	url := rawHub(t, func(ctx context.Context, n int64, ws *websocket.Conn) {
		if n == 1 {
			writeEnv(t, ws, TypeStatus, StatusChange{StatusID: 2})
		}
		writeEnv(t, ws, TypeSnapshot, testSnapshot(n))
		drain(ws)
	})
	_, events := startClient(t, url, nil)
	if ev := next(t, events, Disconnected); !errors.Is(ev.Err, ErrProtocol) {
		t.Fatalf("Disconnected with %v, want ErrProtocol", ev.Err)
	}
	if snap := next(t, events, Connected).Snapshot; snap.StatusID != 2 {
		t.Fatalf("snapshot from connection %d, want 2", snap.StatusID)
	}
}

func TestOversizedFrameFromClientClosesAndClientReconnects(t *testing.T) {
	h := newTestHub(t, ServerOptions{MaxFrameBytes: 1024}, false)
	c, events := startClient(t, h.url, nil)
	next(t, events, Connected)
	big := map[string]any{"status_id": 1, "pad": strings.Repeat("x", 4096)}
	if _, err := c.Request(reqCtx(t), TypeSwitchStatus, big); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("oversized request: %v, want ErrNotConnected", err)
	}
	if err := recv(t, h.ended, "end of Serve"); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Serve returned %v, want ErrFrameTooLarge", err)
	}
	// The client may see the close frame (1009) or a reset, depending on
	// whether the hub's kernel discarded the unread rest of the frame.
	next(t, events, Disconnected)
	if snap := next(t, events, Connected).Snapshot; snap.StatusID != 2 {
		t.Fatalf("snapshot from connection %d, want a fresh one", snap.StatusID)
	}
}

func TestOversizedFrameFromHubClosesAndClientReconnects(t *testing.T) {
	h := newTestHub(t, ServerOptions{}, false)
	_, events := startClient(t, h.url, func(o *ClientOptions) { o.MaxFrameBytes = 1024 })
	next(t, events, Connected)
	sc := recv(t, h.conns, "server connection")
	env, _ := NewEnvelope(TypeStatus, "", map[string]any{"status_id": 2, "pad": strings.Repeat("x", 4096)})
	if err := sc.Send(env); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, events, Disconnected); !errors.Is(ev.Err, ErrFrameTooLarge) {
		t.Fatalf("Disconnected with %v, want ErrFrameTooLarge", ev.Err)
	}
	if snap := next(t, events, Connected).Snapshot; snap.StatusID != 2 {
		t.Fatalf("snapshot from connection %d, want a fresh one", snap.StatusID)
	}
}

func TestHubDropFailsPendingRequestAndReconnects(t *testing.T) {
	h := newTestHub(t, ServerOptions{}, true)
	c, events := startClient(t, h.url, nil)
	next(t, events, Connected)
	sc := recv(t, h.conns, "server connection")

	res := make(chan error, 1)
	go func() {
		_, err := c.Request(reqCtx(t), TypeReadOperator, nil)
		res <- err
	}()
	recv(t, h.reqs, "read_operator at the hub")
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, res, "request result"); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("pending request: %v, want ErrNotConnected", err)
	}
	if err := recv(t, h.ended, "end of Serve"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve returned %v, want ErrClosed", err)
	}
	next(t, events, Disconnected)
	if snap := next(t, events, Connected).Snapshot; snap.StatusID != 2 {
		t.Fatalf("snapshot from connection %d, want 2", snap.StatusID)
	}
}

func TestReconnectWaitsOnClock(t *testing.T) {
	h := newTestHub(t, ServerOptions{}, false)
	fake := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	_, events := startClient(t, h.url, func(o *ClientOptions) {
		o.Clock, o.MinBackoff, o.MaxBackoff = fake, time.Hour, 2*time.Hour
	})
	next(t, events, Connected)
	_ = recv(t, h.conns, "server connection").Close()
	next(t, events, Disconnected)
	deadline := time.Now().Add(guard)
	for fake.Pending() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run armed no backoff timer")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case ev := <-events:
		t.Fatalf("%v event before the backoff elapsed", ev.Kind)
	default:
	}
	fake.Advance(time.Hour)
	if snap := next(t, events, Connected).Snapshot; snap.StatusID != 2 {
		t.Fatalf("snapshot from connection %d, want 2", snap.StatusID)
	}
}

func TestUnauthorizedStopsWithoutLeakingToken(t *testing.T) {
	h := newTestHub(t, ServerOptions{}, false)
	const revoked = "tok-revoked-7d1e0a55c9"
	c, err := NewClient(ClientOptions{URL: h.url, Token: revoked, MinBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan Event, 8)
	err = c.Run(reqCtx(t), events)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Run returned %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), revoked) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q leaks the token or spans lines", err)
	}
	t.Logf("Run: %v", err)
	if !strings.Contains(err.Error(), "401") {
		t.Errorf("error %q does not say 401", err)
	}
	if len(events) != 0 {
		t.Errorf("%d events before giving up", len(events))
	}
}

func TestBrowserOriginRefused(t *testing.T) {
	h := newTestHub(t, ServerOptions{}, false)
	hdr := http.Header{"Origin": {"https://evil.example"}, "Authorization": {"Bearer " + testToken}}
	ws, resp, err := websocket.DefaultDialer.Dial(h.url, hdr)
	if err == nil {
		ws.Close()
		t.Fatal("handshake with a browser Origin accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("handshake answered %v, want 403", resp)
	}
}
