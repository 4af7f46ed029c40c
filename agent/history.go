package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/history"
)

// maxHistoryPages bounds one History call: 90 days of a busy employee's
// transitions fit many times over.
const maxHistoryPages = 500

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

// historyView is the day so far as the loop keeps it for the state (time
// online for chats and the last transitions), read from the hub on
// connecting and after transitions, off the loop.
type historyView struct {
	today    feed.Today
	readAt   time.Time
	reading  bool
	stale    bool // a transition happened since the last read
	lastSeen string
	// nextAt is when the next read may start; startedAt when the last did.
	nextAt, startedAt time.Time
}

// startOfDay is local midnight: "today" is the employee's day.
func startOfDay(t time.Time) time.Time {
	y, m, d := t.Local().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.Local)
}

// History reads are spaced: they wait historySettle after a transition, so
// that the write it caused goes to the hub first (a history read sent
// beside it held it up: p99 of status change → Chaport write 4 → 17 ms), and
// come at most once every historyEvery, however fast the status flaps.
const (
	historySettle = time.Second
	historyEvery  = 15 * time.Second
)

// due notes a transition (key changed since the last call: a new lease
// status or Omnidesk status makes the view stale) and says whether a read
// should start now and, if not, when one is next due (zero for none). A
// read it starts is marked as under way; the caller sends it.
func (h *historyView) due(now time.Time, key string, known bool) (bool, time.Time) {
	if key != h.lastSeen {
		h.lastSeen, h.stale = key, true
		if h.nextAt.IsZero() {
			h.nextAt = latest(now.Add(historySettle), h.startedAt.Add(historyEvery))
		}
	}
	if !known || h.reading || !h.stale {
		return false, time.Time{}
	}
	if now.Before(h.nextAt) {
		return false, h.nextAt
	}
	h.reading, h.stale, h.nextAt, h.startedAt = true, false, time.Time{}, now
	return true, time.Time{}
}

// took records a finished read.
func (h *historyView) took(today feed.Today, err error, now time.Time, log *slog.Logger) {
	h.reading = false
	if err != nil {
		log.Debug("reading today's history failed", "err", err)
		return
	}
	h.today, h.readAt = today, now
}

// refreshHistory reads today's history again, once a transition made it
// stale and the spacing allows, off the loop; it returns when it next
// wants to run.
func (l *loop) refreshHistory(ctx context.Context, now time.Time) time.Time {
	key := string(l.keeper.lease.Status) + "|" + fmt.Sprint(l.status.id)
	start, next := l.history.due(now, key, l.link.known)
	if !start {
		return next
	}
	go func() {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		var today feed.Today
		raw, err := l.a.feed.Request(rctx, feed.TypeToday, feed.TodayQuery{Since: startOfDay(now)})
		if err == nil {
			err = json.Unmarshal(raw, &today)
		}
		cancel()
		_ = l.a.do(ctx, func(l *loop) { l.history.took(today, err, l.a.clock.Now(), l.a.log) })
	}()
	return time.Time{}
}

// fill puts today's online time and last transitions into the state. An
// online run still open counts on from the hub's reading, to the minute, so
// the state changes at most once a minute for it.
func (h *historyView) fill(s *State, now time.Time) {
	if h.readAt.IsZero() {
		return
	}
	t := h.today
	if !startOfDay(now).Equal(startOfDay(t.AsOf)) {
		return // a new day: nothing of it read yet
	}
	online := time.Duration(t.OnlineSeconds) * time.Second
	if t.OnlineNow && now.After(t.AsOf) {
		online += now.Sub(t.AsOf)
	}
	s.OnlineToday = online.Truncate(time.Minute)
	s.Changes = t.Recent
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
