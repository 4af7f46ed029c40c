package agent

import (
	"context"
	"fmt"
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

// driftDue reports whether a read-back should start now, and when the next
// one is due. It runs whenever the agent expects something of Chaport
// (expected): a live lease it wrote, and also an offline the mapping calls
// for after Omnitray's own lease ended, since a person may set the operator
// online in Chaport's UI then too. While paused or cut off from the hub
// the agent claims nothing, and reads nothing.
func (l *loop) driftDue(now time.Time) (bool, time.Time) {
	every := l.a.cfg.DriftCheck
	// Only the computer that keeps the operator checks it: another one's
	// read-back would take that computer's writes for a drift.
	if every < 0 || !l.known || !l.keepsOperator() || l.reading || l.writing || l.expected(now) == "" {
		return false, time.Time{}
	}
	if l.lastRead.IsZero() {
		return false, time.Time{} // onWrite (or onSeen) starts the clock
	}
	next := l.lastRead.Add(every)
	return !now.Before(next), next
}

// onRead compares what Chaport shows with what the agent wrote.
func (l *loop) onRead(res readResult) {
	l.reading = false
	now := l.a.clock.Now()
	l.lastRead = now
	if res.err != nil {
		l.a.log.Debug("reading the operator back failed", "err", res.err)
		return
	}
	l.seen = &feed.ChaportSeen{Status: res.state.LastStatus, RealStatus: res.state.RealStatus, ReadAt: now}
	ownLease := l.lease.Status != "" && l.lease.Expires.After(now)
	want := l.expected(now)
	got := res.state.RealStatus
	if want == "" || got == want {
		if l.drift != "" {
			l.a.log.Info("Chaport shows the expected status again")
		}
		l.drift = ""
		return
	}
	if ownLease {
		l.drift = fmt.Sprintf("Chaport shows %s though Omnitray set %s (changed in Chaport?)", got, want)
	} else {
		l.drift = fmt.Sprintf("Chaport shows %s though Omnidesk (%s) gives no chat access (set in Chaport?)",
			got, l.catalogue.Name(l.statusID))
	}
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

// expected is the status the agent expects Chaport to show now, "" for
// none: the status of its own live lease; else offline when the mapping
// calls for offline and it is due or Chaport already showed it (an ended
// online lease lapses to offline, and nothing Omnitray did puts the
// operator online). Nothing while paused: the user asked for hands off.
func (l *loop) expected(now time.Time) chaport.Status {
	if l.paused || !l.known {
		return ""
	}
	if l.lease.Status != "" && l.lease.Expires.After(now) {
		return l.lease.Status
	}
	d := l.decide(now)
	if d.Action == rules.GoOfflineAt && (!d.At.After(now) || l.lease.Status == chaport.Offline) {
		return chaport.Offline
	}
	return ""
}
