package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
)

// fakeHub speaks the feed protocol to one agent: it sends a snapshot, pushes
// status changes on demand, and records every Chaport write it is asked for.
type fakeHub struct {
	t      *testing.T
	srv    *httptest.Server
	writes chan feed.SetChaport
	refuse func(feed.SetChaport) *feed.RemoteError
	// realStatus, when set, is what read_operator reports (drift tests).
	realStatus atomic.Value
	reads      atomic.Int32
	// seen, when set, is the snapshot's chaport: what the hub last read.
	seen atomic.Pointer[feed.ChaportSeen]
	// served gets why each connection ended, as the hub's Serve saw it.
	served chan error
	// loseAnswer makes the next write land and then drops the connection
	// before the answer, as a hub that dies mid-request does.
	loseAnswer atomic.Bool

	mu     sync.Mutex
	conn   *feed.ServerConn
	status int64
}

var testStatuses = []feed.Status{
	{ID: 1, Name: "Online", ChatAccess: true, Active: true},
	{ID: 2, Name: "Offline", Active: true},
	{ID: 3, Name: "Without chats", Active: true},
	{ID: 120273, Name: "Lunch", Active: true},
	{ID: 130001, Name: "Chat duty", ChatAccess: true, Active: true},
}

func newFakeHub(t *testing.T, status int64) *fakeHub {
	h := &fakeHub{t: t, writes: make(chan feed.SetChaport, 100), status: status, served: make(chan error, 8)}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	conn, err := feed.Accept(w, r, feed.ServerOptions{})
	if err != nil {
		return
	}
	h.mu.Lock()
	h.conn = conn
	snap := feed.Snapshot{Staff: feed.Person{ID: 201, Name: "Anna"}, Operator: &feed.Operator{ID: "op1"},
		Statuses: testStatuses, StatusID: h.status, Chaport: h.seen.Load()}
	h.mu.Unlock()
	env, _ := feed.NewEnvelope(feed.TypeSnapshot, "", snap)
	_ = conn.Send(env)
	go func() {
		for req := range conn.Requests() {
			var sc feed.SetChaport
			switch req.Type {
			case feed.TypeSetChaport:
				sc, _ = feed.DecodeData[feed.SetChaport](req)
			case feed.TypeReadOperator:
				h.reads.Add(1)
				real, _ := h.realStatus.Load().(string)
				_ = conn.Reply(req, feed.ChaportState{RealStatus: chaport.Status(real), LastStatus: chaport.Status(real)})
				continue
			case feed.TypeExtendOnline:
				ext, _ := feed.DecodeData[feed.ExtendOnline](req)
				sc = feed.SetChaport{Status: "extend", TTLSeconds: ext.TTLSeconds}
			default:
				continue
			}
			if h.refuse != nil {
				if re := h.refuse(sc); re != nil {
					_ = conn.ReplyError(req, re.Code, re.Message)
					continue
				}
			}
			h.writes <- sc
			if h.loseAnswer.CompareAndSwap(true, false) {
				_ = conn.Close()
				continue
			}
			granted := sc.TTLSeconds
			if sc.Status == "extend" {
				granted = min(granted, 30) // the hub caps extensions at its grace allowance
			}
			_ = conn.Reply(req, feed.ChaportState{Status: sc.Status, LastStatus: sc.Status, RealStatus: sc.Status, TTLSeconds: granted})
		}
	}()
	err = conn.Serve(r.Context())
	select {
	case h.served <- err:
	default:
	}
}

func (h *fakeHub) push(status int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = status
	env, _ := feed.NewEnvelope(feed.TypeStatus, "", feed.StatusChange{StatusID: status})
	if err := h.conn.Send(env); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHub) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	_ = h.conn.Close()
}

func (h *fakeHub) expectWrite(status string) feed.SetChaport {
	h.t.Helper()
	select {
	case w := <-h.writes:
		if status != "" && string(w.Status) != status {
			h.t.Fatalf("wrote %q, want %q", w.Status, status)
		}
		return w
	case <-time.After(10 * time.Second):
		h.t.Fatalf("no %q write", status)
	}
	return feed.SetChaport{}
}

// expectNoWrite gives a wrongly started write a moment to arrive. It can
// miss a bug on a very slow machine, but never fails a correct agent.
func (h *fakeHub) expectNoWrite() {
	h.t.Helper()
	select {
	case w := <-h.writes:
		h.t.Fatalf("unexpected write %+v", w)
	case <-time.After(150 * time.Millisecond):
	}
}

type harness struct {
	*fakeHub
	a     *Agent
	clock *clock.Fake
	st    <-chan State
}

func startAgent(t *testing.T, status int64) *harness { return startAgentWith(t, status, nil) }

// startAgentWith starts an agent against a fake hub on a fake clock; tweak,
// if set, changes its config first.
func startAgentWith(t *testing.T, status int64, tweak func(*Config)) *harness {
	return startAgentOn(t, newFakeHub(t, status), tweak)
}

// startAgentOn is startAgentWith on a fake hub the test set up first.
func startAgentOn(t *testing.T, h *fakeHub, tweak func(*Config)) *harness {
	fc := clock.NewFake(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	cfg := Config{HubURL: h.srv.URL, Token: "tok", Clock: fc,
		Feed: feed.ClientOptions{MinBackoff: time.Second, MaxBackoff: time.Second}}
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() { defer close(done); _ = a.Run(ctx) }()
	return &harness{fakeHub: h, a: a, clock: fc, st: a.Watch(ctx)}
}

// waitState waits until the agent publishes a state that satisfies ok.
func (h *harness) waitState(what string, ok func(State) bool) State {
	h.t.Helper()
	guard := time.After(10 * time.Second)
	for {
		select {
		case s := <-h.st:
			if ok(s) {
				return s
			}
		case <-guard:
			b, _ := json.Marshal(h.a.State())
			h.t.Fatalf("agent never reached %s; last state %s", what, b)
		}
	}
}

func (h *harness) waitStatus(id int64) State {
	return h.waitState("status", func(s State) bool { return s.Connection == Connected && s.StatusID == id })
}

func (h *fakeHub) pushChat(ce feed.ChatEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	env, _ := feed.NewEnvelope(feed.TypeChat, "", ce)
	if err := h.conn.Send(env); err != nil {
		h.t.Fatal(err)
	}
}

// lockedWriter collects log output from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
