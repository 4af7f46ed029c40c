package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// BenchmarkChaportWritesPerHour counts the Chaport calls one agent causes
// in steady state: an employee online all day, the agent with its default
// lease (2 min, renewed at half-life) and drift check (5 min). The sandbox,
// the hub (default timings, chat watcher off) and the agent share one fake
// clock, which the benchmark moves from one pending timer to the next once
// all three are waiting; each iteration is one simulated hour, and the
// writes the sandbox logged in it are counted (status writes, POST
// /operators/{id}/status) next to the operator read-backs (GET
// /operators/{id}). Expected from the lease alone: 3600 s / 60 s = 60 writes
// an hour. The hour starts at the first write, so the initial online write
// is not counted.
func BenchmarkChaportWritesPerHour(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	fc := clock.NewFake(start)
	sb := hubtest.StartSandbox(b, ctx, sandbox.Config{Clock: fc})
	if err := sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusOnline); err != nil {
		b.Fatal(err)
	}
	h := hubtest.Serve(b, ctx, hubtest.New(b, sb, `{"chats": {"enabled": false}}`, func(c *hub.Config) { c.Clock = fc }))
	// The hub's idle timers: the staff poller's pacer and the operator refresh.
	const hubTimers = 2
	// idle waits until want timers wait on the fake clock: the hub's two
	// and, once it is connected, the agent's one. The agent arms its timer
	// only after a write has finished, so nothing is in flight then.
	idle := func(want int) {
		deadline := time.Now().Add(10 * time.Second)
		for fc.Pending() < want {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d timers pending at %v", fc.Pending(), want, fc.Now())
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	// The hub answers agents once it has polled; move its clock until then.
	for {
		idle(hubTimers)
		if hubHealthy(h.URL) {
			break
		}
		fc.AdvanceToNext()
	}
	tok, err := hub.Sign(hubtest.Secret, sandbox.SeedStaffAnna, fc.Now(), 10_000*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(Config{HubURL: h.URL, Token: tok, Clock: fc})
	if err != nil {
		b.Fatal(err)
	}
	agentDone := make(chan struct{})
	go func() { _ = a.Run(ctx); close(agentDone) }()
	defer func() { cancel(); <-agentDone }()

	isWrite := func(c sandbox.Call) bool {
		return c.Method == "POST" && strings.HasPrefix(c.Path, "/api/v1/operators/") && strings.HasSuffix(c.Path, "/status")
	}
	isRead := func(c sandbox.Call) bool {
		return c.Method == "GET" && strings.HasPrefix(c.Path, "/api/v1/operators/") && strings.Count(c.Path, "/") == 4
	}
	// Wait for the first write: the agent's online lease.
	var hourStart time.Time
	deadline := time.Now().Add(10 * time.Second)
	for hourStart.IsZero() {
		for _, c := range sb.Calls("chaport", 0) {
			if isWrite(c) {
				hourStart = c.At
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("the agent never wrote its online status")
		}
		time.Sleep(time.Millisecond)
	}
	var writes, reads, hours int
	seq := 0
	for b.Loop() {
		hourEnd := hourStart.Add(time.Hour)
		for fc.Now().Before(hourEnd) {
			idle(hubTimers + 1) // + the agent's renewal (or drift check) timer
			if st := a.State(); st.Chaport != "online" || !st.LeaseExpires.After(fc.Now()) {
				b.Fatalf("at %v the agent holds no live online lease: %+v", fc.Now(), st)
			}
			fc.AdvanceToNext()
		}
		idle(hubTimers + 1)
		for _, c := range sb.Calls("chaport", seq) {
			seq = max(seq, c.Seq)
			// (if, not a tagless switch: go1.26.8 crashes compiling one
			// with calls in its cases inside a b.Loop body.)
			inHour := c.At.After(hourStart) && !c.At.After(hourEnd)
			if inHour && isWrite(c) {
				writes++
			} else if inHour && isRead(c) {
				reads++
			}
		}
		hours++
		hourStart = hourEnd
	}
	b.ReportMetric(float64(writes)/float64(hours), "writes/h")
	b.ReportMetric(float64(reads)/float64(hours), "reads/h")
	b.ReportMetric(float64(hours), "sim-hours")
	if testing.Verbose() {
		fmt.Printf("%d simulated hours: %d Chaport writes, %d read-backs\n", hours, writes, reads)
	}
}

// hubHealthy asks /healthz whether the hub has polled Omnidesk.
func hubHealthy(base string) bool {
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
