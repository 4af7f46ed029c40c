package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/history"
	"github.com/omnitray/omnitray/sync/rules"
)

// Connection states of the agent's feed.
const (
	Connecting   = "connecting"
	Connected    = "connected"
	Disconnected = "disconnected"
)

// State is a snapshot of what the agent sees and why, for UIs and
// `omnitray status`. It is a value: holders never see it change.
type State struct {
	Connection string `json:"connection"`
	ConnError  string `json:"connection_error,omitempty"`
	// Hub is the base URL of the hub (replica) the agent is connected to.
	Hub         string         `json:"hub,omitempty"`
	Staff       feed.Person    `json:"staff"`
	Operator    *feed.Operator `json:"operator,omitempty"`
	OmnideskURL string         `json:"omnidesk_url,omitempty"`
	Statuses    []feed.Status  `json:"statuses,omitempty"`
	// StatusID is the Omnidesk status; 0 while unknown.
	StatusID   int64  `json:"status_id"`
	StatusName string `json:"status_name,omitempty"`
	ChatAccess bool   `json:"chat_access"`
	// Action and Reason are the mapping's decision and its "why" line.
	Action string `json:"action"`
	Reason string `json:"reason"`
	// Chaport is the status the agent last had written ("" for none yet);
	// LeaseExpires is when it lapses unless renewed.
	Chaport      chaport.Status `json:"chaport,omitempty"`
	LeaseExpires time.Time      `json:"lease_expires,omitzero"`
	// LeaseLapsed says the online lease Omnitray wrote ended without a
	// renewal (paused, hub lost): Chaport has gone back to offline, or to
	// what the employee set in Chaport.
	LeaseLapsed bool `json:"lease_lapsed,omitempty"`
	// ChaportSeen is what Chaport itself last showed for the operator, and
	// when (the hub's snapshot, or the agent's read-back).
	ChaportSeen *feed.ChaportSeen `json:"chaport_seen,omitempty"`
	// OfflineAt is when a pending offline will be written.
	OfflineAt       time.Time `json:"offline_at,omitzero"`
	Paused          bool      `json:"paused,omitempty"`
	StayOnlineUntil time.Time `json:"stay_online_until,omitzero"`
	LastError       string    `json:"last_error,omitempty"`
	// Drift says Chaport showed another status than the one written.
	Drift string `json:"drift,omitempty"`
	// RecentChats are the latest bot hand-overs, newest first.
	RecentChats []RecentChat `json:"recent_chats,omitempty"`
	// OtherComputers are the employee's other connected computers; the
	// one with Owner set keeps the Chaport operator.
	OtherComputers []feed.Device `json:"other_computers,omitempty"`
	// OnlineToday is how long the operator was online for chats today (by
	// the hub's history), and Changes the day's last transitions, newest
	// first.
	OnlineToday time.Duration   `json:"online_today,omitempty"`
	Changes     []history.Entry `json:"changes,omitempty"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// RecentChat is a chat a bot handed over, for the tray's list.
type RecentChat struct {
	ChatID      int64     `json:"chat_id"`
	VisitorID   string    `json:"visitor_id"`
	VisitorName string    `json:"visitor_name"`
	BotName     string    `json:"bot_name"`
	At          time.Time `json:"at"`
	URL         string    `json:"url,omitempty"`
}

// Format renders the state for a terminal, relative to now.
func (s State) Format(now time.Time) string {
	var b strings.Builder
	line := func(k, format string, a ...any) { fmt.Fprintf(&b, "%-10s %s\n", k+":", fmt.Sprintf(format, a...)) }
	conn := s.Connection
	if s.ConnError != "" {
		conn += " (" + s.ConnError + ")"
	}
	if s.Hub != "" && s.Connection == Connected {
		conn += " to " + s.Hub
	}
	line("Hub", "%s", conn)
	if s.Staff.ID != 0 {
		line("Employee", "%s <%s> (staff %d)", s.Staff.Name, s.Staff.Email, s.Staff.ID)
	}
	if s.Operator != nil {
		line("Operator", "%s (%s)", s.Operator.Email, s.Operator.ID)
	} else if s.Connection == Connected {
		line("Operator", "not linked")
	}
	if s.StatusID != 0 {
		access := "no chat access"
		if s.ChatAccess {
			access = "chat access"
		}
		line("Omnidesk", "%s (%s)", s.StatusName, access)
	} else {
		line("Omnidesk", "unknown")
	}
	ch := string(s.Chaport)
	if ch == "" {
		ch = "not written yet"
	}
	if !s.LeaseExpires.IsZero() {
		switch left := s.LeaseExpires.Sub(now); {
		case left > 0:
			ch += fmt.Sprintf(", lease ends in %s", rules.Countdown(s.LeaseExpires, now))
		case s.Chaport == chaport.Online:
			ch += ", lease lapsed (Chaport went offline unless set there)"
		}
		// An offline lease that ended leaves the operator offline: nothing
		// to add.
	}
	line("Chaport", "%s", ch)
	if s.ChaportSeen != nil {
		line("Seen", "Chaport showed %s at %s", s.ChaportSeen.RealStatus, s.ChaportSeen.ReadAt.Local().Format("15:04:05"))
	}
	line("Why", "%s", s.Reason)
	if s.Paused {
		line("Sync", "paused: Omnitray changes nothing in Chaport")
	}
	for _, d := range s.OtherComputers {
		what := "also connected"
		if d.Owner {
			what += ", keeps Chaport"
		}
		line("Computer", "%s (%s; %s)", d.Host, d.State, what)
	}
	if s.OnlineToday > 0 || len(s.Changes) > 0 {
		line("Today", "online for chats %s", FormatOnline(s.OnlineToday))
	}
	if s.LastError != "" {
		line("Error", "%s", s.LastError)
	}
	return b.String()
}
