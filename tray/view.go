package tray

import (
	"fmt"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/assets"
	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/history"
	"github.com/omnitray/omnitray/sync/rules"
)

// maxStatuses is how many status items the menu holds. The menu is built
// once with this many hidden slots and filled as the catalogue arrives,
// because rebuilding a dbusmenu while a host shows it loses clicks and
// submenus (desktop-notes §1–2).
const maxStatuses = 16

// maxRecent is how many bot hand-overs the menu lists.
const maxRecent = 5

// maxChanges is how many of the day's transitions the menu lists.
const maxChanges = 3

// View is everything the tray shows, computed from the agent's state by
// render, a pure function; apply then changes only what differs.
type View struct {
	Icon    string
	Tooltip string
	Header  string // the "why" line, first in the menu
	Chaport string // Chaport status and lease
	// Elsewhere names the employee's other active computer ("" if none).
	Elsewhere string
	// Today is the day's time online for chats; Changes its last
	// transitions, newest first.
	Today    string
	Changes  []string
	Statuses []StatusItem
	Recent   []RecentItem // bot hand-overs, newest first
	// StayOnline shows "Stay online 5 min" while an offline is pending.
	StayOnline  bool
	Paused      bool
	SignedIn    bool
	OmnideskURL string
	// Ticking means the view holds a countdown and must be rendered again
	// every second; otherwise the tray sleeps until the state changes.
	Ticking bool
}

// RecentItem is one bot hand-over in the menu; choosing it opens the chat.
type RecentItem struct {
	Label string
	URL   string
}

// StatusItem is one Omnidesk status in the menu.
type StatusItem struct {
	ID      int64
	Label   string
	Checked bool
}

func render(s agent.State, signedIn bool, now time.Time) View {
	v := View{SignedIn: signedIn, Paused: s.Paused, OmnideskURL: s.OmnideskURL}
	if !signedIn {
		v.Icon, v.Header = assets.IconSignedOut, "Signed out — choose “Sign in…”"
		v.Tooltip = "Omnitray: signed out"
		return v
	}
	for _, st := range s.Statuses {
		if !st.Active || len(v.Statuses) == maxStatuses {
			continue
		}
		label := st.Name
		if st.ChatAccess {
			label += " · chats"
		}
		v.Statuses = append(v.Statuses, StatusItem{ID: st.ID, Label: label, Checked: st.ID == s.StatusID})
	}
	why := s.Reason
	pending := !s.OfflineAt.IsZero() && s.OfflineAt.After(now)
	switch {
	case s.Connection != agent.Connected:
		v.Icon = assets.IconUnknown
		why = "Hub unreachable — status unknown; the Chaport lease lapses on its own"
	case s.LastError != "":
		v.Icon = assets.IconError
	case s.Paused:
		// Paused writes nothing, but an online lease written before lasts
		// until it ends: the icon shows what Chaport has, the why line
		// (the agent's) says it is paused and until when.
		v.Icon = assets.IconOffline
		if leaseLive(s, now) && s.Chaport == chaport.Online {
			v.Icon = assets.IconOnline
		}
	case pending:
		v.Icon, v.StayOnline, v.Ticking = assets.IconGoingOffline, true, true
		why = fmt.Sprintf("Omnidesk: %s — no chat access → Chaport offline in %s",
			s.StatusName, rules.Countdown(s.OfflineAt, now))
		if s.StayOnlineUntil.After(now) {
			why += " (stay online requested)"
		}
	case s.Action == rules.KeepOnline.String():
		v.Icon = assets.IconOnline
	default:
		v.Icon = assets.IconOffline
	}
	v.Header = why
	v.Tooltip = "Omnitray — " + why
	if s.LastError != "" {
		v.Tooltip += "\nError: " + s.LastError
	}
	v.Chaport = chaportLine(s, now)
	v.Elsewhere = elsewhereLine(s)
	if s.OnlineToday > 0 || len(s.Changes) > 0 {
		v.Today = "Online for chats today: " + agent.FormatOnline(s.OnlineToday)
	}
	for _, e := range s.Changes {
		if len(v.Changes) == maxChanges {
			break
		}
		v.Changes = append(v.Changes, changeLine(e))
	}
	for _, rc := range s.RecentChats {
		if len(v.Recent) == maxRecent {
			break
		}
		v.Recent = append(v.Recent, RecentItem{URL: rc.URL,
			Label: fmt.Sprintf("%s — %s · %s", rc.VisitorName, rc.BotName, age(rc.At, now))})
	}
	return v
}

// age says how long ago, coarsely: the menu refreshes it when opened.
func age(at, now time.Time) string {
	d := now.Sub(at)
	switch {
	case at.IsZero() || d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	default:
		return at.Local().Format("15:04")
	}
}

// chaportLine says what Chaport has and how long the lease lasts.
func chaportLine(s agent.State, now time.Time) string {
	switch {
	case s.Chaport == "":
		return "Chaport: nothing written yet"
	case leaseLive(s, now):
		// An absolute time, not a countdown: a countdown would need a timer
		// ticking all day in an idle tray.
		return fmt.Sprintf("Chaport: %s · lease until %s", s.Chaport, s.LeaseExpires.Local().Format("15:04:05"))
	case s.Chaport == chaport.Offline:
		return "Chaport: offline"
	default:
		return "Chaport: " + string(s.Chaport) + " lease lapsed · now offline unless set in Chaport"
	}
}

// elsewhereLine names the employee's other computers that are active, and
// which keeps the operator.
func elsewhereLine(s agent.State) string {
	for _, d := range s.OtherComputers {
		if d.State != feed.PresencePresent {
			continue
		}
		if d.Owner {
			return "Also active on " + d.Host + ", which keeps Chaport"
		}
		return "Also active on " + d.Host
	}
	return ""
}

// changeLine is one transition: "14:02 Chaport → offline · Screen locked".
func changeLine(e history.Entry) string {
	what := "Omnidesk → " + e.To
	if e.Kind == history.KindChaport {
		what = "Chaport → " + e.To
	} else if e.Kind == history.KindSession {
		what = "Disconnected"
	}
	line := e.At.Local().Format("15:04") + " " + what
	if e.Reason != "" {
		line += " · " + e.Reason
	}
	return line
}

// leaseLive says Omnitray's lease has not ended. The agent re-publishes its
// state when a lease ends (LeaseLapsed), so a menu drawn from an old state
// is corrected then, not only on the next tick.
func leaseLive(s agent.State, now time.Time) bool {
	return !s.LeaseLapsed && s.LeaseExpires.After(now)
}
