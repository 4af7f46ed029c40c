package hub

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/omnitray/omnitray/internal/failstreak"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/history"
)

// historyPageSize keeps a history answer well inside one feed frame
// (64 KiB): an entry is at most a few hundred bytes.
const historyPageSize = 120

// recorder turns what the hub sees and does into history entries: changes
// of Omnidesk statuses (from the poller), Chaport statuses written (from
// agents' requests, with their reasons) and leases that lapsed because no
// computer renewed them. It remembers the last Chaport status per employee,
// so that a renewal is not a transition.
type recorder struct {
	store history.Store
	log   *slog.Logger
	clock clock.Clock

	mu      sync.Mutex
	chaport map[int64]chaportMark
	failing failstreak.Streak
}

type chaportMark struct {
	status string
	until  time.Time // when an online lease lapses unless renewed
}

// openHistory is the hub's history store: files in the state directory, or
// a bounded ring in memory without one.
func openHistory(cfg Config) (history.Store, error) {
	if cfg.StateDir == "" {
		return history.NewMemory(20_000), nil
	}
	st, err := history.OpenFiles(filepath.Join(cfg.StateDir, "history"),
		time.Duration(cfg.File.HistoryRetention), cfg.Clock.Now)
	if err != nil {
		return nil, fmt.Errorf("opening the status history: %w", err)
	}
	return st, nil
}

func newRecorder(store history.Store, c clock.Clock, log *slog.Logger) *recorder {
	return &recorder{store: store, log: log, clock: c,
		chaport: map[int64]chaportMark{}}
}

func (r *recorder) append(e history.Entry) {
	err := r.store.Append(e)
	r.failing.Note(r.log, err, "writing the status history failed", "writing the status history works again")
}

// omnidesk records a change of an employee's Omnidesk status: seen by the
// poller (switchedOn ""), or by the hub confirming a switch the employee made
// from Omnitray on the computer switchedOn.
func (r *recorder) omnidesk(staff int64, from, to string, at time.Time, switchedOn string) {
	e := history.Entry{At: at, Staff: staff, Kind: history.KindOmnidesk, From: from, To: to,
		Cause: history.CauseOmnidesk, Reason: "changed in Omnidesk"}
	if switchedOn != "" {
		e.Cause, e.Host = history.CauseSwitch, switchedOn
		e.Reason = "switched from Omnitray on " + switchedOn
	}
	r.append(e)
}

// wrote records a Chaport write made for an employee, if it changed the
// status (a renewal is not a transition).
func (r *recorder) wrote(staff int64, status string, now, until time.Time, why feed.Why, host string) {
	r.mu.Lock()
	last := r.chaport[staff]
	r.chaport[staff] = chaportMark{status: status, until: until}
	r.mu.Unlock()
	if last.status == status {
		return
	}
	r.append(history.Entry{At: now, Staff: staff, Kind: history.KindChaport, From: last.status, To: status,
		Cause: why.Cause, Reason: why.Reason, Host: host})
}

// sweep records the online leases that lapsed: no computer renewed them
// (the hub lost them, or they crashed, slept or were cut off).
func (r *recorder) sweep(now time.Time) {
	var lapsed []history.Entry
	r.mu.Lock()
	for staff, m := range r.chaport {
		if m.status == "online" && !m.until.After(now) {
			r.chaport[staff] = chaportMark{status: "offline"}
			lapsed = append(lapsed, history.Entry{At: m.until, Staff: staff, Kind: history.KindChaport,
				From: "online", To: "offline", Cause: history.CauseLeaseLapsed,
				Reason: "the online lease lapsed: no computer renewed it"})
		}
	}
	r.mu.Unlock()
	for _, e := range lapsed {
		r.append(e)
	}
}

// cutOff records that an employee's computer was cut off by the hub.
func (r *recorder) cutOff(staff int64, at time.Time, cause, reason, host string) {
	r.append(history.Entry{At: at, Staff: staff, Kind: history.KindSession,
		To: "disconnected", Cause: cause, Reason: reason, Host: host})
}

// history answers an agent's history request: the caller's own entries
// only, since the token names the staff member.
func (s *session) history(env feed.Envelope) (any, error) {
	q, err := feed.DecodeData[feed.HistoryQuery](env)
	if err != nil {
		return nil, refuse(feed.CodeBadRequest, "bad history payload")
	}
	entries, more, err := s.hub.history.store.Query(s.staffID, q.After, historyPageSize)
	if err != nil {
		return nil, fmt.Errorf("reading the history: %w", err)
	}
	if entries == nil {
		entries = []history.Entry{}
	}
	return feed.HistoryPage{Entries: entries, More: more}, nil
}

// maxTodayEntries bounds the entries one day's summary reads: far more than
// a person's statuses change in a day.
const maxTodayEntries = 20_000

// today answers an agent's request for the day so far: computed here, so
// that the agent gets one small answer however busy the day was.
func (s *session) today(env feed.Envelope) (any, error) {
	q, err := feed.DecodeData[feed.TodayQuery](env)
	now := s.hub.clock.Now()
	if err != nil || q.Since.After(now) || now.Sub(q.Since) > 48*time.Hour {
		return nil, refuse(feed.CodeBadRequest, "today: since must be within the last two days")
	}
	entries, _, err := s.hub.history.store.Query(s.staffID, q.Since.Add(-time.Nanosecond), maxTodayEntries)
	if err != nil {
		return nil, fmt.Errorf("reading the history: %w", err)
	}
	t := feed.Today{AsOf: now, Recent: []history.Entry{},
		OnlineSeconds: int64(history.OnlineTime(entries, q.Since, now, false) / time.Second)}
	for i := len(entries) - 1; i >= 0; i-- {
		if len(t.Recent) == feed.MaxTodayRecent {
			break
		}
		t.Recent = append(t.Recent, entries[i])
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Kind == history.KindChaport {
			t.OnlineNow = entries[i].To == "online"
			break
		}
	}
	return t, nil
}

// Every replica keeps the whole history: each records the Omnidesk changes
// from the pages it applies, and the replica holding an agent's session
// tells the others what it wrote for it and when it cut it off.

const subjectHistory = "history" // any → all: a write or cut-off made here

type historyMsg struct {
	Staff  int64     `json:"staff"`
	At     time.Time `json:"at"`
	Status string    `json:"status,omitempty"` // a write; "" for a cut-off
	Until  time.Time `json:"until,omitzero"`
	Why    feed.Why  `json:"why"`
	Host   string    `json:"host,omitempty"`
}

// recordWrite records a Chaport write made here, on every replica.
func (h *Hub) recordWrite(staff int64, status string, until time.Time, why feed.Why, host string) {
	now := h.clock.Now()
	h.history.wrote(staff, status, now, until, why, host)
	h.rep.publish(subjectHistory, historyMsg{Staff: staff, At: now, Status: status, Until: until, Why: why, Host: host})
}

// recordCutOff records that the hub cut a session off here, on every replica.
func (h *Hub) recordCutOff(staff int64, cause, reason, host string) {
	now := h.clock.Now()
	h.history.cutOff(staff, now, cause, reason, host)
	h.rep.publish(subjectHistory, historyMsg{Staff: staff, At: now, Why: feed.Why{Cause: cause, Reason: reason}, Host: host})
}

// applyHistory records what another replica did.
func (h *Hub) applyHistory(m historyMsg) {
	if m.Status != "" {
		h.history.wrote(m.Staff, m.Status, m.At, m.Until, m.Why, cleanHost(m.Host))
		return
	}
	h.history.cutOff(m.Staff, m.At, m.Why.Cause, m.Why.Reason, cleanHost(m.Host))
}
