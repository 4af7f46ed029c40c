package agent

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// keeper is the lease keeper's running state: the lease as the hub last
// confirmed it, the one write in flight, and the failures that space the
// retries. What to write when is planLease's (lease.go, pure); the keeper
// starts that write, takes its answer and says when it must look again.
type keeper struct {
	ttl      time.Duration // the lease asked for (Config.Lease)
	lease    lease
	failures int    // failed writes in a row, for the back-off
	lastErr  string // the last failed write, for the state
	writing  bool
	done     chan writeResult
	wake     time.Time // the last plan's next look; zero for none
}

func newKeeper(ttl time.Duration) keeper {
	return keeper{ttl: ttl, done: make(chan writeResult, 1)}
}

// plan decides what the lease needs now; the caller starts st.Write (if
// any) unless a write is already in flight.
func (k *keeper) plan(d rules.Decision, now time.Time) step {
	st := planLease(d, k.lease, now, k.ttl)
	k.wake = st.Wake
	return st
}

// start sends st's write off the loop; its answer comes back on k.done.
func (k *keeper) start(ctx context.Context, a *Agent, st step, why feed.Why) {
	k.writing = true
	go a.write(ctx, st.Write, st.Extend, k.ttl, why, k.done)
}

// due is when the keeper must look again although nothing changes: its
// plan's next look, or the end of a live online lease it is not renewing
// (a pause, a lost hub), so that the state, and the tray with it, stop
// claiming a lease that lapsed.
func (k *keeper) due(now time.Time) time.Time {
	if k.writing {
		// The write's answer (or its timeout) runs the loop again; a timer
		// meanwhile would only wake an agent that has nothing to do.
		return k.wake
	}
	var end time.Time
	if k.lease.Status == chaport.Online && k.lease.Expires.After(now) {
		end = k.lease.Expires
	}
	return earliestDue(k.wake, end)
}

// onWrite takes a finished write and reports whether it succeeded.
func (k *keeper) onWrite(res writeResult, now time.Time, log *slog.Logger) bool {
	k.writing = false
	if res.err != nil {
		k.failures++
		k.lease.RetryAt = now.Add(retryDelay(k.failures-1, k.ttl))
		k.lastErr = "Chaport " + string(res.status) + ": " + res.err.Error()
		if res.status == chaport.Online {
			// Whether it landed is unknown (a lost answer looks like this);
			// assume the worst until the lease it asked for would end.
			k.lease.MaybeOnlineUntil = latest(k.lease.MaybeOnlineUntil, res.started.Add(k.ttl))
		}
		var re *feed.RemoteError
		if !errors.As(res.err, &re) || re.Code != feed.CodeNoChatAccess {
			log.Warn("Chaport write failed; will retry", "status", res.status, "err", res.err)
		}
		return false
	}
	k.failures, k.lastErr = 0, ""
	was := k.lease.Status
	granted := k.ttl
	if res.state.TTLSeconds > 0 {
		granted = min(granted, time.Duration(res.state.TTLSeconds)*time.Second)
	}
	k.lease = lease{Status: res.status, Expires: res.started.Add(granted)}
	if was != res.status {
		log.Info("Chaport " + string(res.status) + " written")
	} else {
		log.Debug("Chaport lease renewed", "status", res.status, "until", k.lease.Expires)
	}
	return true
}

// live says whether a lease Omnitray wrote still holds.
func (k *keeper) live(now time.Time) bool {
	return k.lease.Status != "" && k.lease.Expires.After(now)
}

// maybeOnline says whether an online write whose answer was lost may still
// hold.
func (k *keeper) maybeOnline(now time.Time) bool { return now.Before(k.lease.MaybeOnlineUntil) }

// sawOffline takes Chaport's own offline as the lease's status (see onSeen):
// nothing is left to write, so a failed write being retried (say, refused
// while the operator was not linked yet) is moot, and its error no longer
// true.
func (k *keeper) sawOffline() {
	k.lease = lease{Status: chaport.Offline}
	k.failures, k.lastErr = 0, ""
}

// forget drops the lease after a drift, so that the next plan writes what
// the mapping calls for at once.
func (k *keeper) forget() { k.lease = lease{} }

// writeResult is a finished Chaport write.
type writeResult struct {
	status  chaport.Status
	state   feed.ChaportState
	err     error
	started time.Time
}

// write asks the hub for a Chaport status write, off the event loop.
func (a *Agent) write(ctx context.Context, status chaport.Status, extend bool, ttl time.Duration, why feed.Why, done chan<- writeResult) {
	started := a.clock.Now()
	secs := int((ttl + time.Second - 1) / time.Second)
	typ, data := feed.TypeSetChaport, any(feed.SetChaport{Status: status, TTLSeconds: secs, Why: why})
	if extend {
		typ, data = feed.TypeExtendOnline, feed.ExtendOnline{TTLSeconds: secs, Why: why}
	}
	state, err := a.askChaport(ctx, typ, data)
	select {
	case done <- writeResult{status: status, state: state, err: err, started: started}:
	case <-ctx.Done():
	}
}
