package agent

import (
	"context"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// loop is the state the event loop owns. Only Run's goroutine touches it.
// Each part owns its fields and takes its own events; the ones that do
// something at a time say when (due). The loop dispatches events to the
// parts, asks the mapping what to do, arms one timer for the earliest due
// time, and publishes the state.
type loop struct {
	a *Agent

	link      link        // the hub connection and its snapshot (connection.go)
	status    omnidesk    // the Omnidesk status and catalogue (connection.go)
	inputs    inputs      // pause, stay online, presence (inputs.go)
	keeper    keeper      // the Chaport lease and its writes (keeper.go)
	drift     driftCheck  // read-backs of what Chaport shows (drift.go)
	computers computers   // the employee's other computers (devices.go)
	history   historyView // today's history, for the state (history.go)
	recent    recentChats // the latest hand-overs (chats.go)

	timer       wakeTimer     // wake.go
	transitions transitionLog // wake.go
	settled     waiters       // SetPresenceAndWait (inputs.go)
	published   State         // the last state published
}

func newLoop(a *Agent) *loop {
	return &loop{a: a, link: link{state: Connecting}, keeper: newKeeper(a.cfg.Lease),
		drift: newDriftCheck(a.cfg.DriftCheck, a.cfg.DriftPolicy), computers: computers{host: a.cfg.ComputerName}}
}

func (l *loop) onFeed(ev feed.Event) {
	now := l.a.clock.Now()
	switch ev.Kind {
	case feed.Connected:
		l.link.connected(ev.Snapshot, ev.URL, l.a.log)
		l.status.setCatalogue(ev.Snapshot.Statuses)
		l.setStatus(ev.Snapshot.StatusID, now)
		l.onSeen(ev.Snapshot.Chaport, now)
	case feed.Disconnected:
		l.link.lost(ev.Err, l.a.log)
		l.computers.forget()
	case feed.Message:
		switch ev.Env.Type {
		case feed.TypeStatus:
			if ch, err := feed.DecodeData[feed.StatusChange](ev.Env); err == nil {
				l.setStatus(ch.StatusID, now)
			}
		case feed.TypeCatalogue:
			if cat, err := feed.DecodeData[feed.Catalogue](ev.Env); err == nil {
				l.link.snap.Statuses = cat.Statuses
				l.status.setCatalogue(cat.Statuses)
			}
		case feed.TypeChat:
			if ce, err := feed.DecodeData[feed.ChatEvent](ev.Env); err == nil {
				l.onChat(ce)
			}
		case feed.TypeDevices:
			if d, err := feed.DecodeData[feed.Devices](ev.Env); err == nil {
				l.computers.onDevices(d, l.a.log)
			}
		}
	}
}

// setStatus takes a new Omnidesk status; chat access ends a "stay online".
func (l *loop) setStatus(id int64, now time.Time) {
	if l.status.set(id, now) {
		l.inputs.stayOnlineUntil = time.Time{}
	}
}

func (l *loop) onWrite(res writeResult) {
	now := l.a.clock.Now()
	if l.keeper.onWrite(res, now, l.a.log) {
		l.drift.startClock(now) // the first read-back is a check period after the first write
	}
}

func (l *loop) decide(now time.Time) rules.Decision {
	return l.honest(rules.Decide(rules.Input{Now: now, Known: l.link.known, StatusID: l.status.id,
		Catalogue: l.status.catalogue, NoAccessSince: l.status.noAccessSince, Grace: l.a.cfg.Grace,
		Presence: l.inputs.presence, Paused: l.inputs.paused, StayOnlineUntil: l.inputs.stayOnlineUntil,
		Elsewhere: l.computers.elsewhere()}), now)
}

// reconcile decides, lets each part start what is due (a write, a presence
// report, a history read, a read-back), arms the timer for the earliest
// time one of them wants to look again, and publishes the state. The order
// matters: a write started here holds the read-back off.
func (l *loop) reconcile(ctx context.Context) {
	now := l.a.clock.Now()
	d := l.decide(now)
	if st := l.keeper.plan(d, now); st.Write != "" && !l.keeper.writing {
		l.keeper.start(ctx, l.a, st, l.drift.why(d))
	}
	l.reportPresence(ctx)
	history := l.refreshHistory(ctx, now)
	drift := l.checkDrift(ctx, now)
	l.timer.arm(l.a.clock, earliestDue(l.keeper.due(now), history, drift), now)
	l.logTransition(d, now)
	l.publishDecision(d, now)
	if !l.keeper.writing {
		l.settled.release()
	}
}

// logTransition logs the mapping's outcome once per change; the key says
// what counts as a change.
func (l *loop) logTransition(d rules.Decision, now time.Time) {
	if l.link.state == Connecting || l.link.refused {
		return // nothing has happened yet worth a line
	}
	key := d.Action.String() + "|" + d.At.String() + "|" + l.status.name()
	if d.Action == rules.Hold {
		key += "|" + d.Reason // a pause's line changes when the lease ends
	}
	if l.inputs.presence != (rules.Presence{}) && d.Action == rules.GoOfflineAt && !d.At.After(now) {
		// Lock, sleep and idle decide "offline now", a new now each time:
		// one line per presence, not one per wake-up.
		key = d.Reason
	}
	l.transitions.note(key, d.Reason, l.a.log)
}

func (l *loop) publishDecision(d rules.Decision, now time.Time) {
	lease := l.keeper.lease
	s := State{Connection: l.link.state, ConnError: l.link.err, Hub: l.link.hub, Staff: l.link.snap.Staff,
		Operator: l.link.snap.Operator, OmnideskURL: l.link.snap.OmnideskURL, Statuses: l.link.snap.Statuses,
		Action: d.Action.String(), Reason: d.Reason, Chaport: lease.Status,
		LeaseExpires: lease.Expires, Paused: l.inputs.paused, LastError: l.keeper.lastErr, ChaportSeen: l.drift.seen}
	if lease.Status == chaport.Online && !lease.Expires.After(now) {
		s.LeaseLapsed = true
	}
	if l.link.known {
		s.StatusID, s.StatusName, s.ChatAccess = l.status.id, l.status.name(), l.status.chatAccess()
	}
	if d.Action == rules.GoOfflineAt && lease.Status != chaport.Offline {
		s.OfflineAt = d.At
	}
	if l.inputs.stayOnlineUntil.After(now) {
		s.StayOnlineUntil = l.inputs.stayOnlineUntil
	}
	s.RecentChats = l.recent
	s.OtherComputers = l.computers.others()
	l.history.fill(&s, now)
	if l.drift.drift != "" {
		s.Drift = l.drift.drift
		s.Reason += " · " + l.drift.drift
	}
	// UpdatedAt changes on every call; compare without it so watchers only
	// wake for real changes.
	cmp := s
	cmp.UpdatedAt = l.published.UpdatedAt
	if statesEqual(cmp, l.published) {
		return
	}
	s.UpdatedAt = now
	l.published = s
	l.a.snapshots.publish(s)
}

func (l *loop) publish() { l.publishDecision(l.decide(l.a.clock.Now()), l.a.clock.Now()) }
