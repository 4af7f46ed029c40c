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
	// maxHold caps one retry_after (received or restored): see
	// LimitsConfig.MaxRetryAfter.
	maxHold time.Duration

	mu       sync.Mutex
	limit    int
	learned  bool      // limit came from Omnidesk, not assumedLimit
	last     time.Time // when the last call was allowed
	lastCost int
	notAfter time.Time // nothing before this (a 429's retry_after)
	// Fairness between the two kinds of call. An urgent call (a status
	// switch a person waits for) goes ahead of a waiting poll, but never
	// twice in a row while a poll waits: however many switches arrive, the
	// poller loses at most one slot to them, and so every employee's
	// status reaches their agent within one poll cycle plus one slot.
	urgentWaiting, pollsWaiting int
	lastUrgent                  bool
	// turn is closed and replaced whenever a call is booked or gives up,
	// to wake the calls standing back for the other kind.
	turn  chan struct{}
	spent []spend // calls of the last minute, oldest first
	used  int     // their total cost
	// booked, when set (tests only), sees each call as it is allowed.
	booked func(at time.Time, cost int)
}

type spend struct {
	at   time.Time
	cost int
}

func newPacer(c clock.Clock, share float64, minInterval, maxHold time.Duration) *pacer {
	return &pacer{clock: c, share: share, minInterval: minInterval, maxHold: maxHold, limit: assumedLimit,
		turn: make(chan struct{})}
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
// may go out, and books it. An urgent call takes the next free slot unless
// the one before was urgent too and a poll is waiting (see turn).
func (p *pacer) wait(ctx context.Context, cost int, urgent bool) error {
	p.mu.Lock()
	if urgent {
		p.urgentWaiting++
	} else {
		p.pollsWaiting++
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		if urgent {
			p.urgentWaiting--
		} else {
			p.pollsWaiting--
		}
		close(p.turn)
		p.turn = make(chan struct{})
		p.mu.Unlock()
	}()
	for {
		p.mu.Lock()
		if p.standsBack(urgent) {
			turn := p.turn
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-turn:
			}
			continue
		}
		now := p.clock.Now()
		at := p.earliest(now, cost)
		if !at.After(now) {
			p.last, p.lastCost, p.lastUrgent = now, cost, urgent
			p.spent = append(p.spent, spend{now, cost})
			p.used += cost
			if p.booked != nil {
				p.booked(now, cost)
			}
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		// Whoever books first when the slot comes wins it; the other
		// kind's standing back is decided afresh then.
		t := p.clock.NewTimer(at.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		}
	}
}

// standsBack says whether a call of this kind must let the other kind go
// first; callers hold p.mu. Never both: one of the two is always free.
func (p *pacer) standsBack(urgent bool) bool {
	if urgent {
		return p.lastUrgent && p.pollsWaiting > 0
	}
	return p.urgentWaiting > 0 && !p.lastUrgent
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

// backoff holds every call until d from now, as a 429's retry_after asks,
// but for at most maxHold; it returns the wait it applied.
func (p *pacer) backoff(d time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	d = min(max(d, 0), p.maxHold)
	if until := p.clock.Now().Add(d); until.After(p.notAfter) {
		p.notAfter = until
	}
	return d
}

// holdUntil is when a retry_after being obeyed ends (zero or past: none).
func (p *pacer) holdUntil() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.notAfter
}

// interval is the current spacing, for logs and /healthz.
func (p *pacer) interval() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.spacing()
}
