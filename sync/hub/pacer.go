package hub

import (
	"context"
	"sync"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

// assumedLimit is the per-minute budget the pacer assumes before Omnidesk has
// told it the real one: the floor of the smallest plan, so the first calls
// cannot overspend any account.
const assumedLimit = 20

// pacer spends at most share × limit units of the Omnidesk budget in any
// 60-second window (and so in any calendar minute of the server's), whatever
// mix of polls (1 unit) and status switches (2 units) the hub makes. Calls are
// also spaced evenly, cost × 60 s / (share × limit) apart, rather than
// bunched at the start of a minute, so that other integrations on the
// account always find budget left.
type pacer struct {
	clock       clock.Clock
	share       float64
	minInterval time.Duration

	mu       sync.Mutex
	limit    int
	learned  bool      // limit came from Omnidesk, not assumedLimit
	last     time.Time // when the last call was allowed
	lastCost int
	notAfter time.Time // nothing before this (a 429's retry_after)
	// urgent counts waiting urgent calls; urgentDone is closed when one is
	// through, to wake the polls standing back.
	urgent     int
	urgentDone chan struct{}
	spent      []spend // calls of the last minute, oldest first
	used       int     // their total cost
	// booked, when set (tests only), sees each call as it is allowed.
	booked func(at time.Time, cost int)
}

type spend struct {
	at   time.Time
	cost int
}

func newPacer(c clock.Clock, share float64, minInterval time.Duration) *pacer {
	return &pacer{clock: c, share: share, minInterval: minInterval, limit: assumedLimit,
		urgentDone: make(chan struct{})}
}

// spacing is the time one unit of budget buys.
func (p *pacer) spacing() time.Duration {
	per := time.Duration(float64(time.Minute) / (p.share * float64(p.limit)))
	return max(per, p.minInterval)
}

// allowance is the whole units the hub may spend per minute.
func (p *pacer) allowance() int {
	return int(p.share * float64(p.limit))
}

// earliest is when a call of this cost may go out; callers hold p.mu.
func (p *pacer) earliest(now time.Time, cost int) time.Time {
	t := p.notAfter
	if !p.last.IsZero() {
		if next := p.last.Add(time.Duration(p.lastCost) * p.spacing()); next.After(t) {
			t = next
		}
	}
	// The rolling minute: wait until enough of the oldest spending has aged
	// out for this call to fit. Calls are booked in time order, so what has
	// aged out is a prefix; dropping it keeps this cheap even with a budget
	// of thousands of calls a minute.
	aged := 0
	for aged < len(p.spent) && now.Sub(p.spent[aged].at) >= time.Minute {
		p.used -= p.spent[aged].cost
		aged++
	}
	p.spent = p.spent[aged:]
	over := p.used + cost - max(p.allowance(), cost)
	for _, s := range p.spent {
		if over <= 0 {
			break
		}
		if free := s.at.Add(time.Minute); free.After(t) {
			t = free
		}
		over -= s.cost
	}
	return t
}

// wait blocks until a call of the given cost (1 for a read, 2 for a write)
// may go out, and books it. An urgent call (a person waiting on a status
// switch) takes the next free slot; ordinary polls stand back meanwhile.
func (p *pacer) wait(ctx context.Context, cost int, urgent bool) error {
	if urgent {
		p.mu.Lock()
		p.urgent++
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			p.urgent--
			close(p.urgentDone)
			p.urgentDone = make(chan struct{})
			p.mu.Unlock()
		}()
	}
	for {
		p.mu.Lock()
		if !urgent && p.urgent > 0 {
			done := p.urgentDone
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-done:
			}
			continue
		}
		now := p.clock.Now()
		at := p.earliest(now, cost)
		if !at.After(now) {
			p.last, p.lastCost = now, cost
			p.spent = append(p.spent, spend{now, cost})
			p.used += cost
			if p.booked != nil {
				p.booked(now, cost)
			}
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		t := p.clock.NewTimer(at.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		}
	}
}

// observe records the account's budget as a response reported it.
func (p *pacer) observe(limit int) {
	if limit <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limit, p.learned = limit, true
}

// backoff holds every call until d from now, as a 429's retry_after asks.
func (p *pacer) backoff(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := p.clock.Now().Add(d); until.After(p.notAfter) {
		p.notAfter = until
	}
}

// interval is the current spacing, for logs and /healthz.
func (p *pacer) interval() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.spacing()
}
