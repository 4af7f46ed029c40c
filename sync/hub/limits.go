package hub

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimitsConfig is the "limits" section of the hub config: what one employee's
// token can make the hub do, so that one employee (or one leaked token)
// cannot spend the company's shared Omnidesk and Chaport quotas or the
// hub's descriptors.
//
//	"limits": {"sessions_per_staff": 8, "requests_per_minute": 120,
//	  "request_burst": 20, "switches_per_minute": 4, "max_retry_after": "1m"}
type LimitsConfig struct {
	// SessionsPerStaff is how many feed connections one staff member may
	// hold at once (default 8: a few computers, each reconnecting); one
	// more closes the oldest (feed.CloseTooManySessions).
	SessionsPerStaff int `json:"sessions_per_staff,omitempty"`
	// RequestsPerMinute and RequestBurst are each connection's token bucket
	// for the requests that cost a vendor call: set_chaport, extend_online,
	// read_operator and switch_status (default 120 a minute, burst 20). An
	// agent renewing a 1 s lease every half second stays inside it;
	// beyond it the answer is rate_limited and no vendor call is made.
	RequestsPerMinute int `json:"requests_per_minute,omitempty"`
	RequestBurst      int `json:"request_burst,omitempty"`
	// SwitchesPerMinute caps Omnidesk status switches per staff member,
	// over all their connections (default 4, at most that many at once;
	// one in flight at a time). A switch costs two units of the account's
	// Omnidesk budget, which the whole company's status polling shares.
	SwitchesPerMinute int `json:"switches_per_minute,omitempty"`
	// MaxRetryAfter caps how long one Omnidesk retry_after (or a restored
	// one) holds every call back (default 1m). Omnidesk's budget is per
	// minute, so no honest wait is longer; a bad or stale value must not
	// stop the hub for good.
	MaxRetryAfter Duration `json:"max_retry_after,omitempty"`
}

func (l LimitsConfig) withDefaults() LimitsConfig {
	if l.SessionsPerStaff == 0 {
		l.SessionsPerStaff = 8
	}
	if l.RequestsPerMinute == 0 {
		l.RequestsPerMinute = 120
	}
	if l.RequestBurst == 0 {
		l.RequestBurst = 20
	}
	if l.SwitchesPerMinute == 0 {
		l.SwitchesPerMinute = 4
	}
	if l.MaxRetryAfter == 0 {
		l.MaxRetryAfter = Duration(time.Minute)
	}
	return l
}

// check validates a defaulted section.
func (l LimitsConfig) check() error {
	for _, b := range []struct {
		key       string
		v, lo, hi int
	}{
		{"sessions_per_staff", l.SessionsPerStaff, 1, 1000},
		{"requests_per_minute", l.RequestsPerMinute, 1, 60_000},
		{"request_burst", l.RequestBurst, 1, 10_000},
		{"switches_per_minute", l.SwitchesPerMinute, 1, 600},
	} {
		if b.v < b.lo || b.v > b.hi {
			return fmt.Errorf("%s %d must be between %d and %d", b.key, b.v, b.lo, b.hi)
		}
	}
	if d := time.Duration(l.MaxRetryAfter); d < time.Second || d > time.Hour {
		return fmt.Errorf("max_retry_after %v must be between 1s and 1h", d)
	}
	return nil
}

// perMinute is a rate of n events a minute.
func perMinute(n int) rate.Limit { return rate.Limit(float64(n) / 60) }

// newRequestLimiter is one connection's bucket.
func (l LimitsConfig) newRequestLimiter() *rate.Limiter {
	return rate.NewLimiter(perMinute(l.RequestsPerMinute), l.RequestBurst)
}

// take spends one token of lim at now, or says how long until one is free.
func take(lim *rate.Limiter, now time.Time) (ok bool, retry time.Duration) {
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // not spent: the caller is told to come back
		return false, d
	}
	return true, 0
}

// switchGate limits status switches per staff member: one in flight, and a
// bucket of SwitchesPerMinute. Its maps hold only staff the hub has
// verified a token for and found in Omnidesk, so they are bounded by the
// company's size.
type switchGate struct {
	limits LimitsConfig

	mu       sync.Mutex
	inFlight map[int64]bool
	buckets  map[int64]*rate.Limiter
}

func newSwitchGate(l LimitsConfig) *switchGate {
	return &switchGate{limits: l, inFlight: map[int64]bool{}, buckets: map[int64]*rate.Limiter{}}
}

// enter lets one switch of staffID start at now. On success the caller must
// call leave when the switch is over.
func (g *switchGate) enter(staffID int64, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight[staffID] {
		return &limitError{what: "a status switch is already under way", retry: time.Second}
	}
	b := g.buckets[staffID]
	if b == nil {
		n := g.limits.SwitchesPerMinute
		b = rate.NewLimiter(perMinute(n), n)
		g.buckets[staffID] = b
	}
	if ok, retry := take(b, now); !ok {
		return &limitError{what: fmt.Sprintf("at most %d status switches a minute", g.limits.SwitchesPerMinute), retry: retry}
	}
	g.inFlight[staffID] = true
	return nil
}

func (g *switchGate) leave(staffID int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.inFlight, staffID)
}

// limitError is a request the hub's own limits refused; it becomes a
// rate_limited answer with a retry time.
type limitError struct {
	what  string
	retry time.Duration
}

func (e *limitError) Error() string { return e.what }
