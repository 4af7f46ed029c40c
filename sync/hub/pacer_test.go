package hub

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

// book runs wait on a goroutine and moves the fake clock until it returns,
// reporting the time the call was allowed.
func book(t *testing.T, fc *clock.Fake, p *pacer, cost int) time.Time {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.wait(context.Background(), cost, false); err != nil {
			t.Error(err)
		}
	}()
	for {
		select {
		case <-done:
			return fc.Now()
		case <-time.After(time.Millisecond):
			if fc.Pending() > 0 {
				fc.Advance(100 * time.Millisecond)
			}
		}
	}
}

func TestPacerKeepsToTheShare(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		limit   int
		share   float64
		costs   []int
		perMin  int // at most this many units in any calendar minute
		spacing time.Duration
	}{
		{"floor plan before headers", 0, 0.25, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 5, 12 * time.Second},
		{"observed budget", 240, 0.25, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 60, time.Second},
		{"writes cost double", 40, 0.5, []int{2, 1, 2, 2, 1, 1, 2, 2, 2, 1, 2, 1, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2, 2}, 20, 3 * time.Second},
		{"min interval wins", 6000, 0.25, []int{1, 1, 1, 1}, 30, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := clock.NewFake(start.Add(17 * time.Second))
			p := newPacer(fc, tc.share, time.Second, time.Minute)
			p.observe(tc.limit)
			if got := p.interval(); got != tc.spacing {
				t.Fatalf("spacing %v, want %v", got, tc.spacing)
			}
			spent := map[int64]int{}
			for _, c := range tc.costs {
				at := book(t, fc, p, c)
				spent[at.Truncate(time.Minute).Unix()] += c
			}
			for m, units := range spent {
				if units > tc.perMin {
					t.Fatalf("minute %v: %d units, share allows %d", time.Unix(m, 0).UTC(), units, tc.perMin)
				}
			}
		})
	}
}

func TestPacerHonoursRetryAfter(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	p := newPacer(fc, 0.25, time.Second, time.Minute)
	p.observe(600) // 400ms spacing → min interval 1s
	first := book(t, fc, p, 1)
	p.backoff(17 * time.Second)
	if next := book(t, fc, p, 1); next.Sub(first) < 17*time.Second {
		t.Fatalf("call %v after a 17s retry_after", next.Sub(first))
	}
}

// A status switch someone waits for goes as soon as the budget allows,
// ahead of a poll that was queued first and whose own slot came earlier.
func TestPacerLetsUrgentCallsGoFirst(t *testing.T) {
	start := time.Unix(1000, 0)
	fc := clock.NewFake(start)
	p := newPacer(fc, 0.25, time.Second, time.Minute)
	p.observe(8) // 2 units a minute, one per 30 s
	book(t, fc, p, 1)
	// Costs tell the two calls apart: the poll is 1 unit, the switch 2.
	allowed := make(chan spend, 2)
	p.mu.Lock()
	p.booked = func(at time.Time, cost int) { allowed <- spend{at, cost} }
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.wait(ctx, 1, false) }()
	waitPending(t, fc, 1) // the poll's slot is at 30 s
	go func() { _ = p.wait(ctx, 2, true) }()
	// The switch (2 units) fits only once the first call has aged out of
	// the minute, at 60 s. It counts as waiting before its timer exists, so
	// from here the order is fixed however the goroutines are scheduled.
	waitPending(t, fc, 2)
	var order []spend
	for len(order) < 2 {
		select {
		case who := <-allowed:
			order = append(order, who)
			continue
		case <-time.After(time.Millisecond):
		}
		if fc.Pending() > 0 {
			fc.Advance(time.Second)
		}
		if fc.Now().Sub(start) > 5*time.Minute {
			t.Fatalf("after five minutes only %v went", order)
		}
	}
	if order[0].cost != 2 {
		t.Fatalf("a poll went at %v, before the switch", order[0].at.Sub(start))
	}
	if got := order[0].at.Sub(start); got != time.Minute {
		t.Fatalf("switch at %v, want 1m0s (when two units are free)", got)
	}
}

func waitPending(t *testing.T, fc *clock.Fake, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for fc.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d timers pending, want %d", fc.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Switches arriving back to back cannot starve the poller: while a poll
// waits, no two urgent calls go in a row, so a status change made in
// Omnidesk reaches agents within one poll cycle plus one switch's slot
// (issue 10: one client looping switch_status held polls back for 33 s).
func TestPacerKeepsPollsGoingUnderSwitchFlood(t *testing.T) {
	start := time.Unix(1000, 0)
	fc := clock.NewFake(start)
	p := newPacer(fc, 0.25, time.Second, time.Minute)
	p.observe(240) // one unit a second
	var mu sync.Mutex
	var order []int // costs in booking order: 1 a poll, 2 a switch
	p.mu.Lock()
	p.booked = func(_ time.Time, cost int) {
		mu.Lock()
		order = append(order, cost)
		mu.Unlock()
	}
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 20 { // twenty clients, each sending its next switch at once
		wg.Go(func() {
			for p.wait(ctx, 2, true) == nil {
			}
		})
	}
	wg.Go(func() {
		for p.wait(ctx, 1, false) == nil {
		}
	})
	booked := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(order)
	}
	for booked() < 60 {
		if fc.Now().Sub(start) > 10*time.Minute {
			t.Fatalf("only %d calls booked in ten fake minutes", booked())
		}
		if fc.Pending() > 0 {
			fc.Advance(250 * time.Millisecond)
		}
		time.Sleep(100 * time.Microsecond)
	}
	cancel()
	mu.Lock()
	defer mu.Unlock()
	polls, run := 0, 0
	for i, c := range order {
		if c == 1 {
			polls, run = polls+1, 0
			continue
		}
		if run++; run > 1 {
			t.Fatalf("two switches in a row while a poll waited, at call %d: %v", i, order)
		}
	}
	if polls < len(order)/3 {
		t.Fatalf("%d polls in %d calls: %v", polls, len(order), order)
	}
}
