package feed

import (
	"time"

	"github.com/omnitray/omnitray/sync/history"
)

// Message types for one employee on several computers and for the status
// history (see the package doc's sections of the same names).
const (
	// TypePresence (agent → hub request) says whether the employee is at
	// this computer.
	TypePresence = "presence"
	// TypeDevices (hub → agent) lists the employee's connected computers
	// and says which one keeps the Chaport operator.
	TypeDevices = "devices"
	// TypeHistory (agent → hub request) asks for the employee's own
	// transitions.
	TypeHistory = "history"
	// TypeToday (agent → hub request) asks for the day so far in one small
	// answer: time online for chats and the last few transitions.
	TypeToday = "today"
)

// Presence states of a computer. Anything but PresencePresent means the
// employee is not at it; an agent that never reported counts as present.
const (
	PresencePresent = "present"
	PresenceLocked  = "locked"
	PresenceAsleep  = "asleep"
	PresenceIdle    = "idle"
	PresencePaused  = "paused"
)

// MaxHostBytes bounds a computer's name as the hub keeps and shows it.
const MaxHostBytes = 64

// Presence is an agent's report of its computer. Host is the computer's
// name, shown to the employee's other computers ("also active on …").
type Presence struct {
	Host  string `json:"host"`
	State string `json:"state"`
}

// ValidPresenceState reports whether s is one of the Presence* states.
func ValidPresenceState(s string) bool {
	switch s {
	case PresencePresent, PresenceLocked, PresenceAsleep, PresenceIdle, PresencePaused:
		return true
	}
	return false
}

// Devices is the employee's connected computers, sent to each of them
// whenever one joins, leaves or reports a new presence. One computer at a
// time keeps the Chaport operator (Owner): the present one that connected
// first. The others write nothing while it is there, so a lock on one
// computer does not take the operator offline while the employee works on
// another, and two computers never fight over the lease.
type Devices struct {
	// Owner says this computer keeps the operator.
	Owner   bool     `json:"owner"`
	Devices []Device `json:"devices"`
}

// Device is one connected computer of the employee.
type Device struct {
	Host  string `json:"host"`
	State string `json:"state"`
	Owner bool   `json:"owner,omitempty"`
	// Self marks the computer the message is sent to.
	Self bool `json:"self,omitempty"`
	// Since is when it connected.
	Since time.Time `json:"since"`
}

// Others are the devices other than the receiving one.
func (d Devices) Others() []Device {
	var out []Device
	for _, dev := range d.Devices {
		if !dev.Self {
			out = append(out, dev)
		}
	}
	return out
}

// HistoryQuery asks for the caller's transitions after After (exclusive),
// oldest first.
type HistoryQuery struct {
	After time.Time `json:"after"`
}

// HistoryPage answers a HistoryQuery. More says the page was cut to fit a
// frame: ask again with After set to the last entry's time.
type HistoryPage struct {
	Entries []history.Entry `json:"entries"`
	More    bool            `json:"more,omitempty"`
}

// TodayQuery asks for the day since Since (the employee's local midnight).
type TodayQuery struct {
	Since time.Time `json:"since"`
}

// Today answers a TodayQuery.
type Today struct {
	// OnlineSeconds is how long Chaport was online since Since, up to AsOf;
	// OnlineNow says it still is (so a viewer may count on from AsOf).
	OnlineSeconds int64     `json:"online_seconds"`
	OnlineNow     bool      `json:"online_now,omitempty"`
	AsOf          time.Time `json:"as_of"`
	// Recent are the day's last transitions, newest first.
	Recent []history.Entry `json:"recent"`
}

// MaxTodayRecent is how many transitions a Today carries.
const MaxTodayRecent = 5
