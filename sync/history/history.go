// Package history keeps each employee's status transitions with their
// reasons: every change of their Omnidesk status and of the Chaport status
// written for them, and why (the rule, a lock, the grace delay running out,
// a switch from the tray, a lease that lapsed…). The hub records them, so
// that all of an employee's computers see one history, and answers each
// employee only their own.
//
// Two stores sit behind one interface: Memory (a bounded ring, for a hub
// without a state directory and for tests) and Files (one JSON-lines file a
// day, 0600, files older than the retention removed).
package history

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kinds of entry.
const (
	KindOmnidesk = "omnidesk" // the employee's Omnidesk status changed
	KindChaport  = "chaport"  // the operator's Chaport status changed
	KindSession  = "session"  // a computer was cut off (e.g. token revoked)
)

// Causes: a short, stable word for scripts (CSV, JSON); Reason is the
// sentence for people.
const (
	CauseRule         = "rule"          // the chat-access mapping
	CauseGrace        = "grace"         // the grace delay ran out
	CauseLock         = "lock"          // the screen was locked
	CauseSleep        = "sleep"         // the computer went to sleep
	CauseIdle         = "idle"          // nobody at the computer
	CausePause        = "pause"         // the employee paused sync
	CauseStayOnline   = "stay_online"   // "stay online" kept it online
	CauseSwitch       = "switch"        // a status switch from Omnitray
	CauseOmnidesk     = "omnidesk"      // changed in Omnidesk itself
	CauseDrift        = "drift"         // Chaport showed another status
	CauseLeaseLapsed  = "lease_lapsed"  // no computer renewed the lease
	CauseTokenRevoked = "token_revoked" // an administrator revoked the token
	CauseTokenExpired = "token_expired"
)

// Entry is one transition.
type Entry struct {
	At    time.Time `json:"at"`
	Staff int64     `json:"staff"`
	Kind  string    `json:"kind"`
	// From and To are status names (Omnidesk) or online/offline (Chaport).
	From   string `json:"from,omitempty"`
	To     string `json:"to"`
	Cause  string `json:"cause,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Host is the computer whose agent caused it, when one did.
	Host string `json:"host,omitempty"`
}

// Store keeps entries. Implementations are safe for concurrent use.
type Store interface {
	// Append records e; e.At must be set.
	Append(e Entry) error
	// Query returns staff's entries after after (exclusive), oldest first,
	// at most limit of them, and whether more follow.
	Query(staff int64, after time.Time, limit int) ([]Entry, bool, error)
	Close() error
}

// page gathers one employee's entries after a time, up to a limit: what
// Query does over each store's own order of entries.
type page struct {
	staff int64
	after time.Time
	limit int
	out   []Entry
}

// add takes e if it belongs, and reports whether the page was already full
// with e belonging to it (so more follow).
func (p *page) add(e Entry) (more bool) {
	if e.Staff != p.staff || !e.At.After(p.after) {
		return false
	}
	if len(p.out) == p.limit {
		return true
	}
	p.out = append(p.out, e)
	return false
}

// Text limits: entries are shown in menus and kept for months.
const (
	maxReasonRunes = 200
	maxNameRunes   = 64
)

// Clean bounds an entry's texts and removes control characters: reasons and
// host names come partly from agents, and an entry must stay one line.
func Clean(e Entry) Entry {
	e.From = oneLine(e.From, maxNameRunes)
	e.To = oneLine(e.To, maxNameRunes)
	e.Cause = oneLine(e.Cause, 32)
	e.Reason = oneLine(e.Reason, maxReasonRunes)
	e.Host = oneLine(e.Host, maxNameRunes)
	return e
}

func oneLine(s string, maxRunes int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "�")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxRunes {
		s = string([]rune(s)[:maxRunes-1]) + "…"
	}
	return s
}

// OnlineTime is how long Chaport was online in [from, to] by the chaport
// entries given (oldest first, as Query returns them). The state before the
// first entry is that entry's From; with no entry it is onlineAtFrom.
func OnlineTime(entries []Entry, from, to time.Time, onlineAtFrom bool) time.Duration {
	online, since := onlineAtFrom, from
	first := true
	var total time.Duration
	for _, e := range entries {
		if e.Kind != KindChaport || e.At.Before(from) {
			continue
		}
		if e.At.After(to) {
			break
		}
		if first {
			online, first = e.From == "online", false
		}
		if online {
			total += e.At.Sub(since)
		}
		online, since = e.To == "online", e.At
	}
	if online && to.After(since) {
		total += to.Sub(since)
	}
	return total
}
