package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/omnitray/omnitray/sync/chaport"
)

// Omnidesk's built-in staff statuses. Their meaning is fixed by Omnidesk, so no
// configuration may change whether they give chat access.
const (
	StatusOnline       int64 = 1
	StatusOffline      int64 = 2
	StatusWithoutChats int64 = 3
)

// DefaultGrace is the delay before a loss of chat access turns the operator
// offline, so that a short trip through another status (or a mis-click) does
// not bounce visitors. Omnidesk's integration waits "a few minutes".
const DefaultGrace = 3 * time.Minute

// Status is one entry of an account's staff-status catalogue.
type Status struct {
	ID   int64
	Name string
	// ChatAccess comes from configuration, not from Omnidesk, whose API does
	// not expose it.
	ChatAccess bool
}

// Catalogue holds the account's statuses by id. A nil Catalogue is valid: only
// the built-in statuses are then known.
type Catalogue map[int64]Status

// ChatAccess reports whether status id gives access to active chats. The
// built-ins win over the catalogue so that a config typo can never put an
// operator online while Omnidesk says Offline; an id nobody configured counts
// as no access, because wrongly showing an operator online strands visitors.
func (c Catalogue) ChatAccess(id int64) bool {
	switch id {
	case StatusOnline:
		return true
	case StatusOffline, StatusWithoutChats:
		return false
	}
	return c[id].ChatAccess
}

// Name returns a display name for status id that fits on one line: the
// catalogue's name if it has one, else the built-in name, else "status #<id>"
// so that an unconfigured status is still identifiable in a reason.
func (c Catalogue) Name(id int64) string {
	if n := oneLine(c[id].Name); n != "" {
		return n
	}
	switch id {
	case StatusOnline:
		return "Online"
	case StatusOffline:
		return "Offline"
	case StatusWithoutChats:
		return "Without chats"
	}
	return "status #" + strconv.FormatInt(id, 10)
}

// oneLine keeps a name typed by an Omnidesk admin from breaking the one-line
// reason (tray menu item, log line) with newlines or other control characters.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// BuildCatalogue joins the names Omnidesk reports (names) with the configured
// chat access of custom statuses (chatAccess). An id present in only one of
// them is still included: a status configured with access must keep working
// while the Omnidesk catalogue is unavailable or stale, and a named status
// without configuration simply has no access. The built-ins get their fixed
// access whatever the configuration says, so the entry agrees with
// Catalogue.ChatAccess.
func BuildCatalogue(names map[int64]string, chatAccess map[int64]bool) Catalogue {
	c := make(Catalogue, len(names)+len(chatAccess))
	for id, name := range names {
		c[id] = Status{ID: id, Name: name}
	}
	for id, access := range chatAccess {
		s := c[id]
		s.ID = id
		s.ChatAccess = access
		c[id] = s
	}
	for id, s := range c {
		s.ChatAccess = c.ChatAccess(id)
		c[id] = s
	}
	return c
}

// Presence is what the employee's computer says about the employee. Any of
// these means nobody is there to answer a chat, whatever Omnidesk says.
type Presence struct {
	Locked, Asleep, Idle bool
}

// Input is everything Decide looks at. Times are inputs so that the caller
// owns the clock (a fake one in tests).
type Input struct {
	Now time.Time
	// Known is false when the Omnidesk status cannot be known (hub
	// unreachable, no status received yet).
	Known    bool
	StatusID int64
	// Catalogue may be nil; see Catalogue.
	Catalogue Catalogue
	// NoAccessSince is when the current run of "no chat access" began. Zero
	// means "now" (the caller has not started counting yet); a time after Now
	// is also read as Now, so that a skewed clock cannot stretch the grace.
	NoAccessSince time.Time
	// Grace is the delay before going offline; zero or negative means
	// DefaultGrace, since no valid configuration asks for less than 1s.
	Grace    time.Duration
	Presence Presence
	// Paused means the user stopped the mirror: nothing is written, and an
	// online lease written before lapses at its end.
	Paused bool
	// StayOnlineUntil postpones a pending offline (the tray's "stay online"
	// button). It never beats a locked, sleeping or idle computer.
	StayOnlineUntil time.Time
	// Elsewhere is what the employee's other computers do (one employee,
	// several computers; the hub says which one keeps the operator).
	Elsewhere Elsewhere
}

// Elsewhere describes the employee's other connected computers.
type Elsewhere struct {
	// PresentHost names another computer the employee is at ("" if none):
	// while there is one, an absence here writes nothing.
	PresentHost string
	// OwnerHost names another computer that keeps the operator ("" when
	// this one does, or none is present): this one then writes nothing.
	OwnerHost string
}

// Action is what the caller should do with the Chaport lease.
type Action int

// Hold is the zero value so that a zero Decision never writes anything.
const (
	// Hold: write nothing now. A lease already written lapses on its own.
	Hold Action = iota
	// KeepOnline: write the online lease now, or renew it.
	KeepOnline
	// GoOfflineAt: write offline at Decision.At (at once when At <= Now).
	GoOfflineAt
)

// String names the action for logs and status output.
func (a Action) String() string {
	switch a {
	case Hold:
		return "hold"
	case KeepOnline:
		return "keep-online"
	case GoOfflineAt:
		return "go-offline-at"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Decision is the outcome of Decide.
type Decision struct {
	Action Action
	// At is set only for GoOfflineAt.
	At time.Time
	// Reason is one line for the tray, "omnitray status" and the history,
	// written for the employee, as of the Now it was decided at.
	Reason string
	// Cause is the reason as a stable word (history.Cause*): rule, grace,
	// lock, sleep, idle, pause, stay_online; "" while unknown.
	Cause string
}

// Target is the Chaport status the decision aims at (online or offline:
// the mirror never chooses invisible), and false for Hold,
// which aims at none.
func (d Decision) Target() (chaport.Status, bool) {
	switch d.Action {
	case KeepOnline:
		return chaport.Online, true
	case GoOfflineAt:
		return chaport.Offline, true
	}
	return "", false
}

// Decide applies the rules in priority order: an unknown status beats a pause
// (never act on a guess), a pause beats everything else (the user said hands
// off), the computer's presence beats Omnidesk (nobody is there to answer),
// and only then does the status mapping decide.
func Decide(in Input) Decision {
	d := decide(in)
	// Another computer the employee is at keeps the operator: this one
	// neither writes offline for its own absence nor renews a lease the
	// other already keeps, so the two never fight.
	if d.Action != Hold && in.Elsewhere.OwnerHost != "" {
		return Decision{Action: Hold, Cause: d.Cause,
			Reason: d.Reason + " — left to " + in.Elsewhere.OwnerHost + ", where you are active"}
	}
	return d
}

func decide(in Input) Decision {
	if !in.Known {
		return Decision{Action: Hold, Reason: "Omnidesk status unknown (hub unreachable) — Chaport lease lapses on its own"}
	}
	if in.Paused {
		return Decision{Action: Hold, Cause: "pause", Reason: "Sync paused — Omnitray changes nothing in Chaport"}
	}
	if why, cause := presenceReason(in.Presence); why != "" {
		if host := in.Elsewhere.PresentHost; host != "" {
			return Decision{Action: Hold, Cause: cause, Reason: why + " — also active on " + host + ", which keeps Chaport"}
		}
		return Decision{Action: GoOfflineAt, At: in.Now, Cause: cause, Reason: why + " → Chaport offline"}
	}

	name := in.Catalogue.Name(in.StatusID)
	if in.Catalogue.ChatAccess(in.StatusID) {
		return Decision{Action: KeepOnline, Cause: "rule", Reason: "Omnidesk: " + name + " — chat access → Chaport online"}
	}

	grace := in.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	since := in.NoAccessSince
	if since.IsZero() || since.After(in.Now) {
		since = in.Now
	}
	at := since.Add(grace)
	// Only a request that actually moves the deadline and still lies ahead is
	// worth mentioning; an expired one explains nothing.
	postponed := in.StayOnlineUntil.After(at) && in.StayOnlineUntil.After(in.Now)
	if in.StayOnlineUntil.After(at) {
		at = in.StayOnlineUntil
	}

	reason := "Omnidesk: " + name + " — no chat access → Chaport offline"
	cause := "rule"
	if at.After(in.Now) {
		reason += " in " + ceilSecond(at.Sub(in.Now)).String()
	} else if at.After(since) {
		cause = "grace" // the delay ran out; the offline is its doing
	}
	if postponed {
		reason += " (stay online requested)"
		cause = "stay_online"
	} else if in.StayOnlineUntil.Equal(at) && !at.After(in.Now) {
		cause = "stay_online"
	}
	return Decision{Action: GoOfflineAt, At: at, Cause: cause, Reason: reason}
}

// presenceReason names the strongest absence signal, or "" if the employee is
// at the computer. Sleep outranks lock, which outranks idle, because that is
// the order in which the employee is less likely to be back soon.
func presenceReason(p Presence) (why, cause string) {
	switch {
	case p.Asleep:
		return "Computer asleep", "sleep"
	case p.Locked:
		return "Screen locked", "lock"
	case p.Idle:
		return "Idle at the computer", "idle"
	}
	return "", ""
}

// Countdown formats the time left until at as "m:ss", or "h:mm:ss" from one
// hour up, for the tray's "offline in 2:41". It is "0:00" once at is reached.
func Countdown(at, now time.Time) string {
	d := ceilSecond(at.Sub(now))
	if d <= 0 {
		return "0:00"
	}
	s := int64(d / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// ceilSecond rounds a pending delay up to whole seconds, so that a countdown
// shows "1s"/"0:01" rather than "0s"/"0:00" while the offline is still ahead.
func ceilSecond(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
