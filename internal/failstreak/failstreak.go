// Package failstreak logs a poller's failures once per streak: the first
// failure and the recovery after it, not every repeat. Pollers retry every
// few seconds, and a log line per try would bury what happened. The hub's
// pollers and its chat hand-over watcher (sync/handover) share it.
package failstreak

import "log/slog"

// Streak is one poller's failure streak; its zero value is not failing.
type Streak struct {
	failing bool
}

// Note records one outcome; attrs go with the failure line.
func (f *Streak) Note(log *slog.Logger, err error, failed, recovered string, attrs ...any) {
	switch {
	case err != nil && !f.failing:
		f.failing = true
		log.Warn(failed, append([]any{"err", err}, attrs...)...)
	case err == nil && f.failing:
		f.failing = false
		log.Info(recovered)
	}
}
