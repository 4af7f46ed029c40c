package hub

import "log/slog"

// failureStreak logs the first failure of a streak and the recovery after
// it, not every repeat: pollers retry every few seconds, and a log line per
// try would bury what happened.
type failureStreak struct {
	failing bool
}

// note records one outcome; attrs go with the failure line.
func (f *failureStreak) note(log *slog.Logger, err error, failed, recovered string, attrs ...any) {
	switch {
	case err != nil && !f.failing:
		f.failing = true
		log.Warn(failed, append([]any{"err", err}, attrs...)...)
	case err == nil && f.failing:
		f.failing = false
		log.Info(recovered)
	}
}
