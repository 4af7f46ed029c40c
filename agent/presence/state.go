package presence

import (
	"context"
	"time"

	"github.com/omnitray/omnitray/sync/rules"
)

// kind says which part of the Presence an update is about.
type kind uint8

const (
	kindLock kind = iota
	kindSleep
	kindIdle
)

// update is one source's new reading. Sources post updates to the event loop
// rather than touching shared state, so that the loop alone decides what
// the combined Presence is.
type update struct {
	kind   kind
	source string // for kindLock: which lock source (several may disagree)
	on     bool
}

// tracker combines the sources' latest readings into one Presence.
type tracker struct {
	locks  map[string]bool
	asleep bool
	idle   bool
}

// presence is Locked if any lock source says so: lockers differ in what they
// set (GNOME sets LockedHint, a bare X screensaver only ActiveChanged), and
// showing a locked-away operator online strands visitors.
func (t *tracker) presence() rules.Presence {
	p := rules.Presence{Asleep: t.asleep, Idle: t.idle}
	for _, on := range t.locks {
		p.Locked = p.Locked || on
	}
	return p
}

// apply records u and returns the combined Presence and whether it changed.
func (t *tracker) apply(u update) (rules.Presence, bool) {
	before := t.presence()
	switch u.kind {
	case kindLock:
		if t.locks == nil {
			t.locks = make(map[string]bool)
		}
		t.locks[u.source] = u.on
	case kindSleep:
		t.asleep = u.on
	case kindIdle:
		t.idle = u.on
	}
	after := t.presence()
	return after, after != before
}

// maxQueued bounds the changes kept for a reader that is not reading; they
// come at human pace, so reaching it means the reader is stuck.
const maxQueued = 16

// outbox queues changes in order, so that a reader that is briefly busy still
// sees every transition (an Asleep that came and went while the agent was
// writing to Chaport matters: BeforeSleep may have set it offline).
type outbox struct {
	queue []rules.Presence
	sent  rules.Presence // last value handed to the reader; the zero value at start
}

func (o *outbox) push(p rules.Presence) {
	if len(o.queue) == maxQueued {
		o.queue = o.queue[1:]
	}
	o.queue = append(o.queue, p)
}

// next returns the value to send, skipping any that would repeat the last
// one sent (possible after overflow drops).
func (o *outbox) next() (rules.Presence, bool) {
	for len(o.queue) > 0 && o.queue[0] == o.sent {
		o.queue = o.queue[1:]
	}
	if len(o.queue) == 0 {
		return rules.Presence{}, false
	}
	return o.queue[0], true
}

func (o *outbox) sentOne() {
	o.sent = o.queue[0]
	o.queue = o.queue[1:]
}

// runLoop owns the combined state until ctx ends: it applies updates and
// sends changes without ever blocking a source on the reader.
func runLoop(ctx context.Context, out chan<- rules.Presence, updates <-chan update) {
	var t tracker
	var box outbox
	for {
		var send chan<- rules.Presence // nil (never ready) when nothing is due
		p, ok := box.next()
		if ok {
			send = out
		}
		select {
		case <-ctx.Done():
			return
		case u := <-updates:
			if np, changed := t.apply(u); changed {
				box.push(np)
			}
		case send <- p:
			box.sentOne()
		}
	}
}

// poster returns a function that hands an update to the loop, giving up when
// ctx ends so that no source goroutine outlives Run.
func poster(ctx context.Context, updates chan<- update) func(update) {
	return func(u update) {
		select {
		case updates <- u:
		case <-ctx.Done():
		}
	}
}

// minPoll is the fastest idle poll: each poll is a D-Bus round trip or a
// syscall, and a laptop on battery should not wake up more often for this.
const minPoll = 5 * time.Second

// basePoll is the normal poll period: a sixth of IdleAfter keeps the lateness
// of the idle report under ~17 %.
func basePoll(after time.Duration) time.Duration { return max(minPoll, after/6) }

// nextPoll says when to look again after reading idleFor. While active it
// looks again when the threshold would be crossed if that comes before the
// normal period, so that idle is reported on time. While idle it polls at the
// floor, because the employee coming back should turn them online promptly.
func nextPoll(idleFor, after time.Duration, idle bool) time.Duration {
	if idle {
		return minPoll
	}
	return min(basePoll(after), max(minPoll, after-idleFor))
}

// isIdle is the idle decision: no input for at least after.
func isIdle(idleFor, after time.Duration) bool { return after > 0 && idleFor >= after }

// sinceTick converts two GetTickCount-style millisecond counters into a
// duration. Subtracting as uint32 keeps it right across the 49.7-day wrap.
func sinceTick(now, last uint32) time.Duration {
	return time.Duration(now-last) * time.Millisecond
}
