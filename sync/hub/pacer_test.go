package hub

import (
	"context"
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
			p := newPacer(fc, tc.share, time.Second)
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
	p := newPacer(fc, 0.25, time.Second)
	p.observe(600) // 400ms spacing → min interval 1s
	first := book(t, fc, p, 1)
	p.backoff(17 * time.Second)
	if next := book(t, fc, p, 1); next.Sub(first) < 17*time.Second {
		t.Fatalf("call %v after a 17s retry_after", next.Sub(first))
	}
}
