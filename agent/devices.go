package agent

import (
	"context"
	"log/slog"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// One employee on several computers: the agent tells the hub whether the
// employee is at this computer, and the hub answers every computer of the
// employee with the list of them and which one keeps the Chaport operator
// (sync/hub/devices.go). rules.Decide then holds this computer back while
// another keeps the operator, or while the employee is at another one.

// computers is what the loop knows of the employee's other computers: the
// hub's list, only true while connected, and this computer's presence as
// the hub last acknowledged it.
type computers struct {
	host      string // this computer's name (Config.ComputerName)
	list      feed.Devices
	have      bool
	reported  feed.Presence // as the hub last acknowledged it
	reporting bool          // one report at a time
}

// report returns the presence to send, if it differs from what the hub
// last acknowledged and none is on its way; the caller sends it.
func (c *computers) report(state string) (feed.Presence, bool) {
	p := feed.Presence{Host: c.host, State: state}
	if c.reporting || p == c.reported {
		return p, false
	}
	c.reporting = true
	return p, true
}

// acknowledged takes the hub's answer to a report.
func (c *computers) acknowledged(p feed.Presence, err error, log *slog.Logger) {
	c.reporting = false
	if err != nil {
		log.Debug("reporting presence to the hub failed; will retry", "err", err)
		return
	}
	c.reported = p
}

// reportPresence sends this computer's presence when it differs from what
// the hub last acknowledged; one report at a time, off the loop.
func (l *loop) reportPresence(ctx context.Context) {
	if !l.link.known {
		return
	}
	p, ok := l.computers.report(l.inputs.presenceState())
	if !ok {
		return
	}
	go func() {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := l.a.feed.Request(rctx, feed.TypePresence, p)
		cancel()
		_ = l.a.do(ctx, func(l *loop) { l.computers.acknowledged(p, err, l.a.log) })
	}()
}

// onDevices takes the hub's list of the employee's computers.
func (c *computers) onDevices(d feed.Devices, log *slog.Logger) {
	before := c.elsewhere()
	c.list, c.have = d, true
	if now := c.elsewhere(); now != before {
		switch {
		case now.OwnerHost != "":
			log.Info("also active on " + now.OwnerHost + ", which keeps Chaport; this computer writes nothing meanwhile")
		case now.PresentHost != "":
			log.Info("also active on " + now.PresentHost + "; this computer keeps Chaport")
		case before.PresentHost != "" || before.OwnerHost != "":
			log.Info("no other computer of yours is active; this one keeps Chaport")
		}
	}
}

// forget drops what the hub said of the other computers, when the
// connection to it is lost: the list is only true while connected.
func (c *computers) forget() {
	c.list, c.have = feed.Devices{}, false
	c.reported = feed.Presence{}
}

// elsewhere is what the rules need to know of the other computers.
func (c *computers) elsewhere() rules.Elsewhere {
	var e rules.Elsewhere
	if !c.have {
		return e
	}
	for _, d := range c.list.Devices {
		if d.Self {
			continue
		}
		if d.State == feed.PresencePresent && e.PresentHost == "" {
			e.PresentHost = d.Host
		}
		if d.Owner {
			e.OwnerHost = d.Host
		}
	}
	if c.list.Owner {
		e.OwnerHost = ""
	}
	return e
}

// keepsOperator says whether this computer is the one that writes and
// checks the operator: alone, or chosen by the hub.
func (c *computers) keepsOperator() bool { return c.elsewhere().OwnerHost == "" }

// others lists the employee's other connected computers, for the state.
func (c *computers) others() []feed.Device {
	if !c.have {
		return nil
	}
	return c.list.Others()
}
