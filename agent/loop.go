package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// loop is the state the event loop owns. Only Run's goroutine touches it.
type loop struct {
	a *Agent

	connection string
	connErr    string
	refused    bool          // the hub refused the token; Run is ending
	snap       feed.Snapshot // staff, operator, statuses, URL
	known      bool          // a snapshot arrived on the live connection
	statusID   int64
	catalogue  rules.Catalogue
	// noAccessSince starts the grace delay; it survives reconnects so that a
	// flapping link cannot keep someone online forever.
	noAccessSince time.Time

	paused          bool
	stayOnlineUntil time.Time
	presence        rules.Presence

	lease     lease
	failures  int
	writing   bool
	writeDone chan writeResult
	reading   bool // a read-back of the operator is under way
	readDone  chan readResult
	lastRead  time.Time
	drift     string            // what the last read-back found wrong, if anything
	seen      *feed.ChaportSeen // what Chaport last showed (snapshot, read-back)
	lastErr   string

	timer   clock.Timer
	timerAt time.Time

	lastReason string // the last logged transition, to log each once
	lastState  State
	// settled are closed once no write is running or due (SetPresenceAndWait).
	settled []chan struct{}
	recent  []RecentChat // newest first, at most maxRecentChats

	// The employee's other computers (devices.go).
	devices           feed.Devices
	haveDevices       bool
	reportedPresence  feed.Presence // as the hub last acknowledged it
	reportingPresence bool
	driftFix          bool // the next write sets again what drift undid
	// history is today's history, for the tray (history.go).
	history historyView
}

func newLoop(a *Agent) *loop {
	return &loop{a: a, connection: Connecting, writeDone: make(chan writeResult, 1), readDone: make(chan readResult, 1)}
}

func (l *loop) timerC() <-chan time.Time {
	if l.timer == nil {
		return nil
	}
	return l.timer.C()
}

func (l *loop) onFeed(ev feed.Event) {
	now := l.a.clock.Now()
	switch ev.Kind {
	case feed.Connected:
		if !l.known {
			l.a.log.Info(fmt.Sprintf("connected to the hub as %s (staff %d)", ev.Snapshot.Staff.Name, ev.Snapshot.Staff.ID))
		}
		l.connection, l.connErr, l.known = Connected, "", true
		l.snap = ev.Snapshot
		l.catalogue = feed.CatalogueOf(ev.Snapshot.Statuses)
		l.setStatus(ev.Snapshot.StatusID, now)
		l.onSeen(ev.Snapshot.Chaport, now)
		if l.snap.Operator == nil {
			l.a.log.Warn("the hub links no Chaport operator to this employee; nothing will be written")
		}
	case feed.Disconnected:
		if errors.Is(ev.Err, feed.ErrUnauthorized) {
			// Run is about to return this as the agent's one fatal error;
			// logging "status unknown" before it would only confuse.
			l.refused = true
		}
		if l.known {
			l.a.log.Warn("lost the hub; status unknown, the Chaport lease will lapse on its own", "err", ev.Err)
		}
		l.connection, l.known = Disconnected, false
		l.forgetDevices()
		if ev.Err != nil {
			l.connErr = ev.Err.Error()
		}
	case feed.Message:
		switch ev.Env.Type {
		case feed.TypeStatus:
			if ch, err := feed.DecodeData[feed.StatusChange](ev.Env); err == nil {
				l.setStatus(ch.StatusID, now)
			}
		case feed.TypeCatalogue:
			if cat, err := feed.DecodeData[feed.Catalogue](ev.Env); err == nil {
				l.snap.Statuses = cat.Statuses
				l.catalogue = feed.CatalogueOf(cat.Statuses)
			}
		case feed.TypeChat:
			if ce, err := feed.DecodeData[feed.ChatEvent](ev.Env); err == nil {
				l.onChat(ce)
			}
		case feed.TypeDevices:
			if d, err := feed.DecodeData[feed.Devices](ev.Env); err == nil {
				l.onDevices(d)
			}
		}
	}
}

func (l *loop) setStatus(id int64, now time.Time) {
	l.statusID = id
	if l.catalogue.ChatAccess(id) {
		l.noAccessSince = time.Time{}
		l.stayOnlineUntil = time.Time{}
	} else if l.noAccessSince.IsZero() {
		l.noAccessSince = now
	}
}

func (l *loop) onWrite(res writeResult) {
	l.writing = false
	if res.err != nil {
		l.failures++
		l.lease.RetryAt = l.a.clock.Now().Add(retryDelay(l.failures-1, l.a.cfg.Lease))
		l.lastErr = "Chaport " + string(res.status) + ": " + res.err.Error()
		if res.status == chaport.Online {
			// Whether it landed is unknown (a lost answer looks like this);
			// assume the worst until the lease it asked for would end.
			l.lease.MaybeOnlineUntil = latest(l.lease.MaybeOnlineUntil, res.started.Add(l.a.cfg.Lease))
		}
		var re *feed.RemoteError
		if !errors.As(res.err, &re) || re.Code != feed.CodeNoChatAccess {
			l.a.log.Warn("Chaport write failed; will retry", "status", res.status, "err", res.err)
		}
		return
	}
	l.failures, l.lastErr = 0, ""
	if l.lastRead.IsZero() {
		l.lastRead = l.a.clock.Now() // the first read-back is a check period after the first write
	}
	was := l.lease.Status
	granted := l.a.cfg.Lease
	if res.state.TTLSeconds > 0 {
		granted = min(granted, time.Duration(res.state.TTLSeconds)*time.Second)
	}
	l.lease = lease{Status: res.status, Expires: res.started.Add(granted)}
	if was != res.status {
		l.a.log.Info("Chaport " + string(res.status) + " written")
	} else {
		l.a.log.Debug("Chaport lease renewed", "status", res.status, "until", l.lease.Expires)
	}
}

func (l *loop) decide(now time.Time) rules.Decision {
	return l.honest(rules.Decide(rules.Input{Now: now, Known: l.known, StatusID: l.statusID,
		Catalogue: l.catalogue, NoAccessSince: l.noAccessSince, Grace: l.a.cfg.Grace,
		Presence: l.presence, Paused: l.paused, StayOnlineUntil: l.stayOnlineUntil, Elsewhere: l.elsewhere()}), now)
}

// reconcile decides, starts a write if one is due, arms the timer for the
// next moment something is due, and publishes the state.
func (l *loop) reconcile(ctx context.Context) {
	now := l.a.clock.Now()
	d := l.decide(now)
	st := planLease(d, l.lease, now, l.a.cfg.Lease)
	if st.Write != "" && !l.writing {
		l.writing = true
		why := feed.Why{Reason: d.Reason, Cause: d.Cause}
		if l.driftFix {
			why = feed.Why{Reason: l.drift, Cause: "drift"}
			l.driftFix = false
		}
		go l.a.write(ctx, st.Write, st.Extend, l.a.cfg.Lease, why, l.writeDone)
	}
	l.reportPresence(ctx)
	wake := st.Wake
	if next := l.refreshHistory(ctx, now); !next.IsZero() && (wake.IsZero() || next.Before(wake)) {
		wake = next
	}
	if end := l.leaseEnd(now); !end.IsZero() && (wake.IsZero() || end.Before(wake)) {
		wake = end
	}
	if due, next := l.driftDue(now); due {
		l.reading = true
		go l.a.read(ctx, l.readDone)
	} else if !next.IsZero() && (wake.IsZero() || next.Before(wake)) {
		wake = next
	}
	l.arm(wake, now)
	l.logTransition(d, now)
	l.publishDecision(d, now)
	if !l.writing {
		for _, ch := range l.settled {
			close(ch)
		}
		l.settled = nil
	}
}

// arm keeps one timer for the next wake-up; no timer at all while nothing
// is due, so an idle agent costs no CPU.
func (l *loop) arm(at, now time.Time) {
	if at.Equal(l.timerAt) && l.timer != nil {
		return
	}
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.timerAt = at
	if !at.IsZero() {
		l.timer = l.a.clock.NewTimer(max(at.Sub(now), 0))
	}
}

// logTransition writes one line whenever the mapping's outcome changes (not
// on every countdown tick).
func (l *loop) logTransition(d rules.Decision, now time.Time) {
	if l.connection == Connecting || l.refused {
		return // nothing has happened yet worth a line
	}
	key := d.Action.String() + "|" + d.At.String() + "|" + l.catalogue.Name(l.statusID)
	if d.Action == rules.Hold {
		key += "|" + d.Reason // a pause's line changes when the lease ends
	}
	if l.presence != (rules.Presence{}) && d.Action == rules.GoOfflineAt && !d.At.After(now) {
		// Lock, sleep and idle decide "offline now", a new now each time:
		// one line per presence, not one per wake-up.
		key = d.Reason
	}
	if key == l.lastReason {
		return
	}
	l.lastReason = key
	l.a.log.Info(d.Reason)
}

func (l *loop) publishDecision(d rules.Decision, now time.Time) {
	s := State{Connection: l.connection, ConnError: l.connErr, Staff: l.snap.Staff,
		Operator: l.snap.Operator, OmnideskURL: l.snap.OmnideskURL, Statuses: l.snap.Statuses,
		Action: d.Action.String(), Reason: d.Reason, Chaport: l.lease.Status,
		LeaseExpires: l.lease.Expires, Paused: l.paused, LastError: l.lastErr, ChaportSeen: l.seen}
	if l.lease.Status == chaport.Online && !l.lease.Expires.After(now) {
		s.LeaseLapsed = true
	}
	if l.known {
		s.StatusID, s.StatusName = l.statusID, l.catalogue.Name(l.statusID)
		s.ChatAccess = l.catalogue.ChatAccess(l.statusID)
	}
	if d.Action == rules.GoOfflineAt && l.lease.Status != chaport.Offline {
		s.OfflineAt = d.At
	}
	if l.stayOnlineUntil.After(now) {
		s.StayOnlineUntil = l.stayOnlineUntil
	}
	s.RecentChats = l.recent
	s.OtherComputers = l.otherComputers()
	l.history.fill(&s, now)
	if l.drift != "" {
		s.Drift = l.drift
		s.Reason += " · " + l.drift
	}
	// UpdatedAt changes on every call; compare without it so watchers only
	// wake for real changes.
	cmp := s
	cmp.UpdatedAt = l.lastState.UpdatedAt
	if statesEqual(cmp, l.lastState) {
		return
	}
	s.UpdatedAt = now
	l.lastState = s
	l.a.snapshots.publish(s)
}

func (l *loop) publish() { l.publishDecision(l.decide(l.a.clock.Now()), l.a.clock.Now()) }
