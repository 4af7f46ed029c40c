package agent

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// BenchmarkStatusChangeToChaportWrite measures, on loopback with the real
// hub and sandbox, the time from an Omnidesk status change to the Chaport
// write it causes: hub poll (continuous here: the budget is huge and the
// minimum interval 1 ms), feed push, agent decision, set_chaport round trip,
// Chaport write. Each iteration flips Anna to Offline (grace shortened to
// 1 ms, so an offline lands) and then times the flip back to Online.
func BenchmarkStatusChangeToChaportWrite(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := hubtest.StartSandbox(b, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 100_000_000}})
	h := hubtest.Serve(b, ctx, hubtest.New(b, sb, `{"min_poll_interval": "1ms", "budget_share": 1,
		"limits": {"requests_per_minute": 60000, "request_burst": 10000}}`, nil))
	tok := hubtest.Token(b, sandbox.SeedStaffAnna)
	a, err := New(Config{HubURL: h.URL, Token: tok})
	if err != nil {
		b.Fatal(err)
	}
	a.cfg.Grace = time.Millisecond // below the CLI's floor, to make offlines instant
	go func() { _ = a.Run(ctx) }()

	waitFor := func(status string) time.Time {
		deadline := time.Now().Add(10 * time.Second)
		for {
			if o, _ := sb.Operator(sandbox.SeedOperatorAnna); o.LastStatus == status {
				return time.Now()
			}
			if time.Now().After(deadline) {
				b.Fatalf("no %s write", status)
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
	flip := func(id int64) {
		if err := sb.SetStaffStatus(sandbox.SeedStaffAnna, id); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		flip(sandbox.StatusOffline)
		waitFor("offline")
		b.StartTimer()
		start := time.Now()
		flip(sandbox.StatusOnline)
		lat = append(lat, waitFor("online").Sub(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	if testing.Verbose() {
		fmt.Printf("n=%d p50=%v p99=%v max=%v\n", len(lat), pct(0.5), pct(0.99), lat[len(lat)-1])
	}
}
