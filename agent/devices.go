package agent

import (
	"context"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// One employee on several computers: the agent tells the hub whether the
// employee is at this computer, and the hub answers every computer of the
// employee with the list of them and which one keeps the Chaport operator
// (sync/hub/devices.go). rules.Decide then holds this computer back while
// another keeps the operator, or while the employee is at another one.

// presenceState is this computer's presence as the hub's feed spells it.
func (l *loop) presenceState() string {
	switch {
	case l.paused:
		return feed.PresencePaused
	case l.presence.Asleep:
		return feed.PresenceAsleep
	case l.presence.Locked:
		return feed.PresenceLocked
	case l.presence.Idle:
		return feed.PresenceIdle
	}
	return feed.PresencePresent
}

// reportPresence sends this computer's presence when it differs from what
// the hub last acknowledged; one report at a time, off the loop.
func (l *loop) reportPresence(ctx context.Context) {
	if !l.known || l.reportingPresence {
		return
	}
	p := feed.Presence{Host: l.a.cfg.ComputerName, State: l.presenceState()}
	if p == l.reportedPresence {
		return
	}
	l.reportingPresence = true
	go func() {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := l.a.feed.Request(rctx, feed.TypePresence, p)
		cancel()
		_ = l.a.do(ctx, func(l *loop) {
			l.reportingPresence = false
			if err != nil {
				l.a.log.Debug("reporting presence to the hub failed; will retry", "err", err)
				return
			}
			l.reportedPresence = p
		})
	}()
}

// onDevices takes the hub's list of the employee's computers.
func (l *loop) onDevices(d feed.Devices) {
	before := l.elsewhere()
	l.devices, l.haveDevices = d, true
	if now := l.elsewhere(); now != before {
		switch {
		case now.OwnerHost != "":
			l.a.log.Info("also active on " + now.OwnerHost + ", which keeps Chaport; this computer writes nothing meanwhile")
		case now.PresentHost != "":
			l.a.log.Info("also active on " + now.PresentHost + "; this computer keeps Chaport")
		case before.PresentHost != "" || before.OwnerHost != "":
			l.a.log.Info("no other computer of yours is active; this one keeps Chaport")
		}
	}
}

// forgetDevices drops what the hub said of the other computers, when the
// connection to it is lost: the list is only true while connected.
func (l *loop) forgetDevices() {
	l.devices, l.haveDevices = feed.Devices{}, false
	l.reportedPresence = feed.Presence{}
}

// elsewhere is what the rules need to know of the other computers.
func (l *loop) elsewhere() rules.Elsewhere {
	var e rules.Elsewhere
	if !l.haveDevices {
		return e
	}
	for _, d := range l.devices.Devices {
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
	if l.devices.Owner {
		e.OwnerHost = ""
	}
	return e
}

// keepsOperator says whether this computer is the one that writes and
// checks the operator: alone, or chosen by the hub.
func (l *loop) keepsOperator() bool { return l.elsewhere().OwnerHost == "" }

// otherComputers lists the employee's other connected computers, for the
// state.
func (l *loop) otherComputers() []feed.Device {
	if !l.haveDevices {
		return nil
	}
	return l.devices.Others()
}
