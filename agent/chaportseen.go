package agent

import (
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// onSeen takes what the hub last read of the operator's Chaport status (the
// snapshot's chaport). When Chaport shows offline and Omnitray holds no live
// lease of its own, the offline the mapping may call for is already there:
// it is taken as the lease's status, so that the lease keeper neither counts
// down to it, announces it nor writes it again. The read may be old, so the
// drift check counts from its time: a change since (a person in Chaport's
// own UI) is found within one check period, and the read-back also runs
// without a live lease (checkDrift).
func (l *loop) onSeen(seen *feed.ChaportSeen, now time.Time) {
	if seen == nil {
		return
	}
	l.drift.seen = seen
	if l.keeper.live(now) || l.keeper.writing || l.keeper.maybeOnline(now) {
		return // what Omnitray wrote (or may have) is fresher than any list
	}
	if seen.RealStatus == chaport.Offline {
		l.keeper.sawOffline()
		l.drift.readAt(seen.ReadAt, now)
	}
}

// honest adjusts the mapping's why line to what Chaport shows: no "offline
// in 3m0s" while Chaport is already offline, and a pause that says what
// happens to the lease (pause.go).
func (l *loop) honest(d rules.Decision, now time.Time) rules.Decision {
	if l.inputs.paused && l.link.known {
		d.Reason = pausedReason(l.keeper.lease, now)
		return d
	}
	if d.Action == rules.GoOfflineAt && d.At.After(now) && l.keeper.lease.Status == chaport.Offline &&
		!l.keeper.maybeOnline(now) {
		d.Reason = "Omnidesk: " + l.status.name() + " — no chat access; Chaport already offline"
	}
	return d
}
