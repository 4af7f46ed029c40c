package tray

import (
	"strconv"

	"github.com/omnitray/omnitray/agent"
)

// A status chosen in the menu is switched only when Omnidesk shows it (the
// hub confirms it). When it is not, the employee is told in words, with
// "Open Omnidesk", and the check stays on the status Omnidesk has: the
// click handler re-applies the view, which follows the agent's state, and
// the state moves only with what the hub saw in Omnidesk.

// switchFailed reports a switch that did not happen.
func switchFailed(opts Options, name string, id int64, err error) {
	opts.Logger.Warn("status switch did not happen", "status", id, "err", err)
	switch {
	case opts.SwitchFailed != nil:
		opts.SwitchFailed(name, err)
	case opts.Tell != nil:
		opts.Tell("Could not switch to «"+name+"»", err.Error()+" — you can switch it in Omnidesk.")
	}
}

// statusName is the status's name in the catalogue, without the menu's
// decorations, for messages.
func statusName(st agent.State, id int64) string {
	for _, s := range st.Statuses {
		if s.ID == id {
			return s.Name
		}
	}
	return "status " + strconv.FormatInt(id, 10)
}
