package omnidesk

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omnitray/omnitray/sync/vendorapi"
)

// Header names as Omnidesk sends them: underscores, not X-RateLimit-*.
// http.Header.Get canonicalises them the same way the transport did.
const (
	headerPerMinute  = "rate_limit_per_minute"
	headerCallsLeft  = "api_calls_left"
	headerRetryAfter = "retry_after"
)

// RateLimit is the account-wide budget as of the last response that carried
// the headers. The budget is shared with every other integration on the
// account, so CallsLeft can drop between two of our own calls.
type RateLimit struct {
	PerMinute  int
	CallsLeft  int
	Known      bool // false until a response carried either header
	ObservedAt time.Time
}

// limits records the headers; vendorapi calls observe from whichever goroutine
// made the request, hence the mutex.
type limits struct {
	mu  sync.Mutex
	now func() time.Time
	rl  RateLimit
}

func (l *limits) observe(h http.Header) {
	perMinute, okPer := headerInt(h, headerPerMinute)
	left, okLeft := headerInt(h, headerCallsLeft)
	if !okPer && !okLeft {
		// A response from a proxy or an error page without the headers says
		// nothing about the budget; keep the last known figures.
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if okPer {
		l.rl.PerMinute = perMinute
	}
	if okLeft {
		l.rl.CallsLeft = left
	}
	l.rl.Known = true
	l.rl.ObservedAt = l.now()
}

func (l *limits) get() RateLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rl
}

func headerInt(h http.Header, name string) (int, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// classify maps the pre-2024 throttling reply, a 403 whose body says "rate
// limit exceeded", to ErrRateLimited so callers back off instead of treating
// it as a permissions problem.
func classify(status int, body []byte) error {
	if status == http.StatusForbidden && bytes.Contains(bytes.ToLower(body), []byte("rate limit exceeded")) {
		return vendorapi.ErrRateLimited
	}
	return nil
}
