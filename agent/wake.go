package agent

import (
	"log/slog"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

// wakeTimer is the loop's one timer, armed for the earliest time any part
// wants to look again. No timer at all while nothing is due, so an idle
// agent costs no CPU; and a timer is only replaced when that time moves.
type wakeTimer struct {
	t  clock.Timer
	at time.Time
}

// C is nil while no timer runs: a nil channel never fires in Run's select.
func (w *wakeTimer) C() <-chan time.Time {
	if w.t == nil {
		return nil
	}
	return w.t.C()
}

// fired forgets a timer that went off; the next arm starts a new one even
// for the same time.
func (w *wakeTimer) fired() { w.t = nil }

// arm keeps one timer for at (zero: none).
func (w *wakeTimer) arm(c clock.Clock, at, now time.Time) {
	if at.Equal(w.at) && w.t != nil {
		return
	}
	if w.t != nil {
		w.t.Stop()
		w.t = nil
	}
	w.at = at
	if !at.IsZero() {
		w.t = c.NewTimer(max(at.Sub(now), 0))
	}
}

// earliestDue is the earliest of the parts' due times, zero ones meaning
// "nothing due"; zero if none is.
func earliestDue(ts ...time.Time) time.Time {
	var at time.Time
	for _, t := range ts {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	return at
}

// transitionLog writes one line whenever the mapping's outcome changes, not
// on every countdown tick: the loop names the outcome by a key.
type transitionLog struct{ last string }

func (t *transitionLog) note(key, line string, log *slog.Logger) {
	if key == t.last {
		return
	}
	t.last = key
	log.Info(line)
}
