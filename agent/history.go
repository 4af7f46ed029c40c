package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/history"
)

// maxHistoryPages bounds one History call: 90 days of a busy employee's
// transitions fit many times over.
const maxHistoryPages = 500

// maxChanges is how many of the day's transitions the state carries.
const maxChanges = 5

// History returns the employee's transitions after since, oldest first, as
// the hub keeps them (so every computer of the employee sees the same).
func (a *Agent) History(ctx context.Context, since time.Time) ([]history.Entry, error) {
	var out []history.Entry
	after := since
	for range maxHistoryPages {
		raw, err := a.feed.Request(ctx, feed.TypeHistory, feed.HistoryQuery{After: after})
		if err != nil {
			return out, fmt.Errorf("reading the status history: %w", err)
		}
		var page feed.HistoryPage
		if err := json.Unmarshal(raw, &page); err != nil {
			return out, fmt.Errorf("decoding the status history: %w", err)
		}
		out = append(out, page.Entries...)
		if !page.More || len(page.Entries) == 0 {
			return out, nil
		}
		after = page.Entries[len(page.Entries)-1].At
	}
	return out, nil
}

// historyView is today's history as the loop keeps it for the state: read
// from the hub on connecting and after each transition, off the loop.
type historyView struct {
	entries  []history.Entry // today's, oldest first
	readAt   time.Time
	reading  bool
	stale    bool // a transition happened since the last read
	lastSeen string
}

// startOfDay is local midnight: "today" is the employee's day.
func startOfDay(t time.Time) time.Time {
	y, m, d := t.Local().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.Local)
}

// refreshHistory reads today's history again when a transition made it
// stale; transitions are rare, so this is a few reads an hour.
func (l *loop) refreshHistory(ctx context.Context, now time.Time) {
	key := string(l.lease.Status) + "|" + fmt.Sprint(l.statusID)
	if key != l.history.lastSeen {
		l.history.lastSeen, l.history.stale = key, true
	}
	if !l.known || l.history.reading || !l.history.stale {
		return
	}
	l.history.reading, l.history.stale = true, false
	go func() {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		entries, err := l.a.History(rctx, startOfDay(now))
		cancel()
		_ = l.a.do(ctx, func(l *loop) {
			l.history.reading = false
			if err != nil {
				l.a.log.Debug("reading today's history failed", "err", err)
				return
			}
			l.history.entries, l.history.readAt = entries, l.a.clock.Now()
		})
	}()
}

// fill puts today's online time and last transitions into the state. An
// online run still open counts up to now, to the minute, so the state
// changes at most once a minute for it.
func (h *historyView) fill(s *State, now time.Time) {
	if h.readAt.IsZero() {
		return
	}
	day := startOfDay(now)
	var today []history.Entry
	for _, e := range h.entries {
		if !e.At.Before(day) {
			today = append(today, e)
		}
	}
	online := history.OnlineTime(today, day, now, false)
	s.OnlineToday = online.Truncate(time.Minute)
	for i := len(today) - 1; i >= 0 && len(s.Changes) < maxChanges; i-- {
		s.Changes = append(s.Changes, today[i])
	}
}

// FormatOnline writes a day's online time as "3h 12m".
func FormatOnline(d time.Duration) string {
	d = d.Truncate(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h == 0 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh %02dm", h, m)
}
