package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// Drift policies: what the agent does when Chaport shows another status
// than the one it wrote (someone changed it in Chaport's own UI).
const (
	DriftReconcile = "reconcile" // write the status the mapping calls for again
	DriftReport    = "report"    // leave Chaport alone; say so in the why line
)

// DefaultDriftCheck is how often the agent reads the operator back.
const DefaultDriftCheck = 5 * time.Minute

type readResult struct {
	state feed.ChaportState
	err   error
}

// read asks the hub for the operator's status as Chaport reports it.
func (a *Agent) read(ctx context.Context, done chan<- readResult) {
	state, err := a.askChaport(ctx, feed.TypeReadOperator, struct{}{})
	select {
	case done <- readResult{state: state, err: err}:
	case <-ctx.Done():
	}
}

// driftCheck reads the operator back now and then, compares what Chaport
// shows with what the agent expects (expected), and says what it found. It
// also keeps what Chaport was last seen showing, from the hub's snapshot
// (onSeen) or its own read-back.
type driftCheck struct {
	every   time.Duration // negative: never
	policy  string        // DriftReconcile or DriftReport
	reading bool          // a read-back is under way
	done    chan readResult
	// lastRead is when Chaport was last read (the next read-back is a
	// period later); zero until a write or a snapshot starts the clock.
	lastRead time.Time
	drift    string            // what the last read-back found wrong, if anything
	fix      bool              // the next write sets again what drift undid
	seen     *feed.ChaportSeen // what Chaport last showed (snapshot, read-back)
}

func newDriftCheck(every time.Duration, policy string) driftCheck {
	return driftCheck{every: every, policy: policy, done: make(chan readResult, 1)}
}

// due says whether a read-back should start now and, if not, when the next
// one is due (zero for none). watching says whether the agent expects
// anything of Chaport at all; it is asked last, as it runs the mapping.
func (c *driftCheck) due(now time.Time, watching func() bool) (bool, time.Time) {
	if c.every < 0 || c.reading || c.lastRead.IsZero() || !watching() {
		// A zero lastRead: onWrite (or onSeen) starts the clock.
		return false, time.Time{}
	}
	next := c.lastRead.Add(c.every)
	return !now.Before(next), next
}

func (c *driftCheck) start(ctx context.Context, a *Agent) {
	c.reading = true
	go a.read(ctx, c.done)
}

// startClock starts the period at the first confirmed write.
func (c *driftCheck) startClock(now time.Time) {
	if c.lastRead.IsZero() {
		c.lastRead = now
	}
}

// readAt counts the period from an earlier read (a snapshot's), unless a
// later one is known; a time in the future counts as now.
func (c *driftCheck) readAt(read, now time.Time) {
	if read.IsZero() || read.After(now) {
		read = now
	}
	if c.lastRead.IsZero() || read.After(c.lastRead) {
		c.lastRead = read
	}
}

// took records a finished read-back; false if it failed.
func (c *driftCheck) took(res readResult, now time.Time, log *slog.Logger) bool {
	c.reading = false
	c.lastRead = now
	if res.err != nil {
		log.Debug("reading the operator back failed", "err", res.err)
		return false
	}
	c.seen = &feed.ChaportSeen{Status: res.state.LastStatus, RealStatus: res.state.RealStatus, ReadAt: now}
	return true
}

// matched clears a drift once Chaport shows what is expected.
func (c *driftCheck) matched(log *slog.Logger) {
	if c.drift != "" {
		log.Info("Chaport shows the expected status again")
	}
	c.drift = ""
}

// found records a drift and reports whether the policy sets the status
// again (the lease keeper then forgets its lease).
func (c *driftCheck) found(drift string, log *slog.Logger) bool {
	c.drift = drift
	if c.policy == DriftReport {
		log.Warn(c.drift + "; left as it is")
		return false
	}
	log.Warn(c.drift + "; setting it again")
	c.fix = true
	c.drift += " — set again"
	return true
}

// why is the reason the next write sends: the drift it sets again, once,
// else the mapping's.
func (c *driftCheck) why(d rules.Decision) feed.Why {
	if c.fix {
		c.fix = false
		return feed.Why{Reason: c.drift, Cause: "drift"}
	}
	return feed.Why{Reason: d.Reason, Cause: d.Cause}
}

// checkDrift starts a read-back when one is due and returns when the next
// is. It runs whenever the agent expects something of Chaport (expected):
// a live lease it wrote, and also an offline the mapping calls for after
// Omnitray's own lease ended, since a person may set the operator online in
// Chaport's UI then too. While paused or cut off from the hub the agent
// claims nothing, and reads nothing. Only the computer that keeps the
// operator checks it: another one's read-back would take that computer's
// writes for a drift.
func (l *loop) checkDrift(ctx context.Context, now time.Time) time.Time {
	start, next := l.drift.due(now, func() bool {
		return l.link.known && l.computers.keepsOperator() && !l.keeper.writing && l.expected(now) != ""
	})
	if start {
		l.drift.start(ctx, l.a)
		return time.Time{}
	}
	return next
}

// onRead compares what Chaport shows with what the agent wrote.
func (l *loop) onRead(res readResult) {
	now := l.a.clock.Now()
	if !l.drift.took(res, now, l.a.log) {
		return
	}
	want, got := l.expected(now), res.state.RealStatus
	if want == "" || got == want {
		l.drift.matched(l.a.log)
		return
	}
	drift := fmt.Sprintf("Chaport shows %s though Omnidesk (%s) gives no chat access (set in Chaport?)", got, l.status.name())
	if l.keeper.live(now) {
		drift = fmt.Sprintf("Chaport shows %s though Omnitray set %s (changed in Chaport?)", got, want)
	}
	if l.drift.found(drift, l.a.log) {
		// Forget the write: the lease keeper then writes what the mapping
		// calls for at once.
		l.keeper.forget()
	}
}

// expected is the status the agent expects Chaport to show now, "" for
// none: the status of its own live lease; else offline when the mapping
// calls for offline and it is due or Chaport already showed it (an ended
// online lease lapses to offline, and nothing Omnitray did puts the
// operator online). Nothing while paused: the user asked for hands off.
func (l *loop) expected(now time.Time) chaport.Status {
	if l.inputs.paused || !l.link.known {
		return ""
	}
	if l.keeper.live(now) {
		return l.keeper.lease.Status
	}
	d := l.decide(now)
	if d.Action == rules.GoOfflineAt && (!d.At.After(now) || l.keeper.lease.Status == chaport.Offline) {
		return chaport.Offline
	}
	return ""
}
