package agent

import (
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/rules"
)

// lease is what the agent knows of the Chaport status it wrote.
type lease struct {
	// Status is the last status the hub confirmed writing ("" for none).
	Status chaport.Status
	// Expires is when that write lapses in Chaport unless renewed.
	Expires time.Time
	// RetryAt holds off a new write after a failed one.
	RetryAt time.Time
	// MaybeOnlineUntil covers an online write whose outcome is unknown: the
	// hub may have written it and then died before answering. Until then an
	// offline must be written even if the last confirmed status is offline,
	// or the operator could stay online for a whole lease unseen.
	MaybeOnlineUntil time.Time
}

// step is what the lease keeper does now: write a status (or not), and when
// to look again.
type step struct {
	Write chaport.Status // "" for no write
	// Extend renews an online lease while an offline is pending (the grace
	// delay): the hub grants it as extend_online, not as a new online.
	Extend bool
	Wake   time.Time // zero for "only when something changes"
}

// planLease turns a decision into a lease step. An online lease is renewed
// at half its life, so one lost renewal still leaves time for another. An
// offline is written once per episode: after that Chaport stays offline by
// itself, and rewriting it would only spend calls.
func planLease(d rules.Decision, l lease, now time.Time, ttl time.Duration) step {
	var want chaport.Status
	switch d.Action {
	case rules.KeepOnline:
		renewAt := l.Expires.Add(-ttl / 2)
		if l.Status == chaport.Online && now.Before(renewAt) {
			return step{Wake: renewAt}
		}
		want = chaport.Online
	case rules.GoOfflineAt:
		if l.Status == chaport.Offline && !now.Before(l.MaybeOnlineUntil) {
			return step{}
		}
		if now.Before(d.At) {
			// The grace delay: keep a live online lease alive until the
			// offline is due, so the operator really stays online meanwhile.
			renewAt := l.Expires.Add(-ttl / 2)
			switch {
			case l.Status != chaport.Online || !l.Expires.After(now):
				return step{Wake: d.At}
			case now.Before(l.RetryAt):
				return step{Wake: earliest(l.RetryAt, d.At)}
			case now.Before(renewAt):
				return step{Wake: earliest(renewAt, d.At)}
			}
			return step{Write: chaport.Online, Extend: true}
		}
		want = chaport.Offline
	default: // Hold: write nothing; a live lease lapses by itself.
		return step{}
	}
	if now.Before(l.RetryAt) {
		return step{Wake: l.RetryAt}
	}
	return step{Write: want}
}

// retryDelay backs off failed writes: 1 s, 2 s, 4 s … capped at a quarter
// of the lease (so a renewal is retried several times before the lease
// ends) and at 30 s.
func retryDelay(failures int, ttl time.Duration) time.Duration {
	d := time.Second << min(failures, 10)
	return max(time.Second, min(d, ttl/4, 30*time.Second))
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
