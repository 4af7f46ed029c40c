package feed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestSlowClientIsDisconnected(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	opts := ServerOptions{SendQueue: 2, beforeWrite: func(stop <-chan struct{}) {
		select {
		case <-stop:
		case <-release:
		}
	}}
	conns := make(chan *ServerConn, 1)
	served := make(chan error, 1)
	url := rawServe(t, opts, conns, served)
	dialRaw(t, url, nil) // never reads

	sc := recv(t, conns, "server connection")
	env, _ := NewEnvelope(TypeStatus, "", StatusChange{StatusID: 2})
	failedAt := -1
	for i := 0; i < 10 && failedAt < 0; i++ {
		if err := sc.Send(env); errors.Is(err, ErrSlowClient) {
			failedAt = i
		} else if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	// The pump holds at most one frame (stalled in the hook), the queue two.
	if failedAt != 2 && failedAt != 3 {
		t.Fatalf("ErrSlowClient at send %d, want 2 or 3", failedAt)
	}
	if err := sc.Send(env); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after disconnect: %v, want ErrClosed", err)
	}
	if err := recv(t, served, "end of Serve"); !errors.Is(err, ErrSlowClient) {
		t.Fatalf("Serve returned %v, want ErrSlowClient", err)
	}
}

// rawServe accepts without sending anything and reports what Serve returns.
func rawServe(t *testing.T, opts ServerOptions, conns chan<- *ServerConn, served chan<- error) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		sc, err := Accept(w, r, opts)
		if err != nil {
			return
		}
		conns <- sc
		served <- sc.Serve(ctx)
	}))
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Close()
	})
	u, err := WebsocketURL(srv.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestKeepaliveHoldsIdleConnection(t *testing.T) {
	pongs := make(chan struct{}, 1024)
	h := newTestHub(t, ServerOptions{PingInterval: 25 * time.Millisecond, PongWait: time.Second, onPong: func() {
		select {
		case pongs <- struct{}{}:
		default:
		}
	}}, false)
	c, events := startClient(t, h.url, func(o *ClientOptions) {
		o.PingInterval, o.PongWait = 25*time.Millisecond, time.Second
	})
	next(t, events, Connected)
	// 60 pongs are at least 59 ping intervals apart in total, longer than
	// PongWait, so the deadline must have been extended to get here.
	for i := range 60 {
		recv(t, pongs, fmt.Sprintf("pong %d", i))
	}
	select {
	case ev := <-events:
		t.Fatalf("idle connection produced %v (%v)", ev.Kind, ev.Err)
	default:
	}
	if _, err := c.Request(reqCtx(t), TypeReadOperator, nil); err != nil {
		t.Fatalf("request on the kept-alive connection: %v", err)
	}
}

func TestSilentAgentIsDropped(t *testing.T) {
	conns := make(chan *ServerConn, 1)
	served := make(chan error, 1)
	url := rawServe(t, ServerOptions{PingInterval: 10 * time.Millisecond, PongWait: 100 * time.Millisecond}, conns, served)
	dialRaw(t, url, nil) // never reads, so never answers a ping
	if err := recv(t, served, "end of Serve"); !errors.Is(err, ErrPeerSilent) {
		t.Fatalf("Serve returned %v, want ErrPeerSilent", err)
	}
}

func TestSilentHubIsDropped(t *testing.T) {
	url := rawHub(t, func(ctx context.Context, n int64, ws *websocket.Conn) {
		writeEnv(t, ws, TypeSnapshot, testSnapshot(n))
		<-ctx.Done() // never reads, so never answers a ping
	})
	_, events := startClient(t, url, func(o *ClientOptions) {
		o.PingInterval, o.PongWait = 10*time.Millisecond, 100*time.Millisecond
	})
	next(t, events, Connected)
	if ev := next(t, events, Disconnected); !errors.Is(ev.Err, ErrPeerSilent) {
		t.Fatalf("Disconnected with %v, want ErrPeerSilent", ev.Err)
	}
}
