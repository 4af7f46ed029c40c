package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

var testSecret = hubtest.Secret

type stack struct {
	sb     *sandbox.Sandbox
	hub    *hub.Hub
	hubURL string
}

// startStack runs a sandbox and a hub against it, both on clk.
func startStack(t testing.TB, clk clock.Clock, budget int, file string) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Clock: clk, Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: budget}})
	h := hubtest.Serve(t, ctx, hubtest.New(t, sb, file, func(c *hub.Config) { c.Clock = clk }))
	return &stack{sb: sb, hub: h.Hub, hubURL: h.URL}
}

// TestHubKeepsToBudgetShare drives two minutes of the hub's life on a fake
// clock, jumping from one of its waits to the next, and checks the sandbox's
// call log: never more than the share of the budget in a minute, and nothing
// before retry_after has passed after a 429.
func TestHubKeepsToBudgetShare(t *testing.T) {
	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	fc := clock.NewFake(start)
	const budget = 40 // share 25 % → 10 units a minute
	s := startStack(t, fc, budget, `{"catalogue_refresh": "30s"}`)
	faultAt := start.Add(70 * time.Second)
	injected := false
	for fc.Now().Before(start.Add(2 * time.Minute)) {
		// The hub is idle when its operator refresh, its pacer and its chat
		// watcher all wait on a timer; only then does the clock move,
		// straight to the next. (The watcher stays on: it must not touch
		// the Omnidesk budget.)
		deadline := time.Now().Add(10 * time.Second)
		for fc.Pending() < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("hub never went idle at %v", fc.Now())
			}
			time.Sleep(time.Millisecond)
		}
		if !injected && !fc.Now().Before(faultAt) {
			if err := s.sb.SetFaults("omnidesk", sandbox.Faults{Next: []string{"429"}, RetryAfterSeconds: 7}); err != nil {
				t.Fatal(err)
			}
			injected = true
		}
		fc.AdvanceToNext()
	}
	calls := s.sb.Calls("omnidesk", 0)
	perMinute := map[time.Time]int{}
	var sawFault bool
	for i, c := range calls {
		perMinute[c.At.Truncate(time.Minute)]++
		if c.Fault == "429" {
			sawFault = true
			if i+1 < len(calls) && calls[i+1].At.Sub(c.At) < 7*time.Second {
				t.Fatalf("call %d came %v after a 429 with retry_after 7", calls[i+1].Seq, calls[i+1].At.Sub(c.At))
			}
		}
	}
	for m, n := range perMinute {
		if n > budget/4 {
			t.Fatalf("minute %v: %d calls, share allows %d", m.Format("15:04"), n, budget/4)
		}
	}
	if !sawFault {
		t.Fatal("the injected 429 was never served")
	}
	// The share is a ceiling, not a target to miss by far: the hub should
	// use most of it (2 minutes × 10, less the 7 s wait).
	if len(calls) < 16 {
		t.Fatalf("only %d calls in two minutes: %v", len(calls), perMinute)
	}
	t.Logf("%d Omnidesk calls in 2 min of clock: %v", len(calls), perMinute)
}
