package agent

import (
	"context"
	"fmt"
	"time"

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

// driftDue reports whether a read-back should start now, and when the next
// one is due. Only a live write is checked: after a lapse or while the hub
// is unreachable there is nothing the agent claims.
func (l *loop) driftDue(now time.Time) (bool, time.Time) {
	every := l.a.cfg.DriftCheck
	// Only the computer that keeps the operator checks it: another one's
	// read-back would take that computer's writes for a drift.
	if every < 0 || !l.known || !l.keepsOperator() || l.lease.Status == "" || !l.lease.Expires.After(now) || l.reading || l.writing {
		return false, time.Time{}
	}
	if l.lastRead.IsZero() {
		return false, time.Time{} // onWrite starts the clock at the first write
	}
	next := l.lastRead.Add(every)
	return !now.Before(next), next
}

// onRead compares what Chaport shows with what the agent wrote.
func (l *loop) onRead(res readResult) {
	l.reading = false
	l.lastRead = l.a.clock.Now()
	if res.err != nil {
		l.a.log.Debug("reading the operator back failed", "err", res.err)
		return
	}
	want := l.lease.Status
	got := rules.ChaportStatus(res.state.RealStatus)
	if want == "" || got == want {
		if l.drift != "" {
			l.a.log.Info("Chaport shows the expected status again")
		}
		l.drift = ""
		return
	}
	l.drift = fmt.Sprintf("Chaport shows %s though Omnitray set %s (changed in Chaport?)", got, want)
	if l.a.cfg.DriftPolicy == DriftReport {
		l.a.log.Warn(l.drift + "; left as it is")
		return
	}
	l.a.log.Warn(l.drift + "; setting it again")
	l.driftFix = true
	l.drift += " — set again"
	// Forget the write: the lease keeper then writes what the mapping
	// calls for at once.
	l.lease = lease{}
}
