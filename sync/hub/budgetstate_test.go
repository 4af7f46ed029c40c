package hub

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

// A budget saved by one pacer and restored by the next keeps the rolling
// minute whole: the new pacer does not spend what the old one already had.
func TestBudgetStateCarriesTheWindow(t *testing.T) {
	start := time.Unix(1000, 0)
	fc := clock.NewFake(start)
	old := newPacer(fc, 0.25, time.Second, time.Minute)
	if _, ok := old.export(); ok {
		t.Fatal("exported a budget nobody stated")
	}
	old.observe(8) // 2 units a minute, one per 30 s
	book(t, fc, old, 1)
	book(t, fc, old, 1) // 30 s later
	st, ok := old.export()
	if !ok || st.Limit != 8 || len(st.Spent) != 2 {
		t.Fatalf("export: %+v, %v", st, ok)
	}
	path := filepath.Join(t.TempDir(), "budget.json")
	if err := saveBudgetState(path, st); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved file: %v, %v", fi, err)
	}

	fc.Advance(2 * time.Second) // the restart
	got, ok, err := takeBudgetState(path)
	if err != nil || !ok {
		t.Fatalf("take: %v, %v", ok, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the file outlived its reading: %v", err)
	}
	fresh := newPacer(fc, 0.25, time.Second, time.Minute)
	if err := fresh.restore(got); err != nil {
		t.Fatal(err)
	}
	if fresh.interval() != 30*time.Second {
		t.Fatalf("spacing %v after restore, want 30s", fresh.interval())
	}
	// Both units of the minute are spent: the next call waits until the
	// first call (at 0 s) is a minute old.
	if at := book(t, fc, fresh, 1); at.Sub(start) != time.Minute {
		t.Fatalf("first call after the restart at %v, want 1m0s", at.Sub(start))
	}
}

func TestBudgetStateRefusals(t *testing.T) {
	now := time.Unix(100_000, 0)
	good := budgetState{Version: budgetStateVersion, SavedAt: now.Add(-time.Second), Limit: 240,
		Spent: []savedSpend{{now.Add(-2 * time.Minute), 1}, {now.Add(-10 * time.Second), 2}, {now.Add(-5 * time.Second), 1000}}}
	for _, tc := range []struct {
		name  string
		edit  func(*budgetState)
		fails bool
	}{
		{"good", func(*budgetState) {}, false},
		{"other version", func(s *budgetState) { s.Version = 99 }, true},
		{"no limit", func(s *budgetState) { s.Limit = 0 }, true},
		{"absurd limit", func(s *budgetState) { s.Limit = 1 << 30 }, true},
		{"from the future", func(s *budgetState) { s.SavedAt = now.Add(time.Hour) }, true},
		{"too old", func(s *budgetState) { s.SavedAt = now.Add(-48 * time.Hour) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := good
			tc.edit(&st)
			p := newPacer(clock.NewFake(now), 0.25, time.Second, time.Minute)
			err := p.restore(st)
			if (err != nil) != tc.fails {
				t.Fatalf("restore: %v", err)
			}
			if tc.fails {
				if p.interval() != 12*time.Second || p.learned {
					t.Fatalf("a refused state changed the pacer: %v", p.interval())
				}
				return
			}
			// Only the 2-unit call is kept: the first is over a minute old,
			// the third has an impossible cost (more than twice the limit in
			// one second's sum).
			if p.used != 2 || len(p.spent) != 1 {
				t.Fatalf("restored spending %d in %d calls", p.used, len(p.spent))
			}
		})
	}
	path := filepath.Join(t.TempDir(), "budget.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := takeBudgetState(path); err == nil {
		t.Fatal("a broken file was read")
	}
	if _, ok, err := takeBudgetState(path); ok || err != nil {
		t.Fatalf("a broken file is removed too: %v, %v", ok, err)
	}
}

// A saved not_after years ahead (a wrong clock, an edited file) used to stop
// the hub polling for good; it is obeyed for at most max_retry_after.
func TestRestoredRetryAfterIsCapped(t *testing.T) {
	now := time.Unix(100_000, 0)
	p := newPacer(clock.NewFake(now), 0.25, time.Second, time.Minute)
	st := budgetState{Version: budgetStateVersion, SavedAt: now.Add(-time.Second), Limit: 240,
		NotAfter: now.Add(5 * 365 * 24 * time.Hour)}
	if err := p.restore(st); err != nil {
		t.Fatal(err)
	}
	if got := p.holdUntil().Sub(now); got != time.Minute {
		t.Fatalf("restored hold %v, want capped at 1m", got)
	}
	// And a retry_after Omnidesk sends is capped the same way.
	q := newPacer(clock.NewFake(now), 0.25, time.Second, time.Minute)
	if held := q.backoff(100 * time.Hour); held != time.Minute || q.holdUntil().Sub(now) != time.Minute {
		t.Fatalf("retry_after of 100h held %v (until %v)", held, q.holdUntil().Sub(now))
	}
}

// The shared state sums each second's calls, so that a large budget's
// minute is still a small record; restored, it keeps the window's spending
// and the spacing from the last call.
func TestBudgetStateSumsBySecond(t *testing.T) {
	start := time.Unix(100_000, 0)
	fc := clock.NewFake(start)
	p := newPacer(fc, 1, time.Millisecond, time.Minute)
	p.observe(100_000)
	for i := range 3000 {
		fc.Set(start.Add(time.Duration(i) * 10 * time.Millisecond))
		if err := p.wait(context.Background(), 1+i%2, false); err != nil {
			t.Fatal(err)
		}
	}
	st, ok := p.export()
	if !ok || len(st.Spent) > 31 || st.LastCost != 2 {
		t.Fatalf("exported %d entries (last cost %d), want at most 31 for 30 s", len(st.Spent), st.LastCost)
	}
	q := newPacer(clock.NewFake(fc.Now()), 1, time.Millisecond, time.Minute)
	if err := q.restore(st); err != nil {
		t.Fatal(err)
	}
	if q.used != p.used || !q.last.Equal(p.last) || q.lastCost != 2 {
		t.Fatalf("restored %d units, last %v/%d; want %d, %v/2", q.used, q.last, q.lastCost, p.used, p.last)
	}
}
