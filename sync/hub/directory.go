package hub

import (
	"sync"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/omnidesk"
)

// directory is the company model (company.go) and the subscriber registry
// (subscribers.go) under one lock. It owns neither's data; it combines
// them: a push goes to "who is subscribed for staff X" with "what changed
// for staff X". The pollers (and, later, other replicas) update the
// company through it; the websocket sessions subscribe and read through it.
//
// One lock, not one each: join must take the snapshot from the company and
// subscribe in the same critical section, or a change made in between
// would be lost to the new agent (applied after its snapshot, pushed before
// it was subscribed) or reach it twice; and an update must read the
// subscribers in the critical section that made the change, for the same
// reason. Every company update would therefore take both locks anyway, and
// the hub's updates come from one poller at a time: a second lock would
// add an ordering rule and no concurrency.
type directory struct {
	mu   sync.Mutex
	co   *company
	subs *subscribers
}

// newDirectory starts from the config and the pins a last run saved.
func newDirectory(fc FileConfig, pins map[int64]string) *directory {
	return &directory{co: newCompany(fc, pins), subs: newSubscribers()}
}

// statusChange is one staff member's new status, with the agents to push
// it to.
type statusChange struct {
	staffChange
	to []*session
}

// updateStaff stores one page of a poll and returns the changes to push,
// and a fresh snapshot for every agent whose operator link it changed;
// complete marks the poll's last page, after which agents may connect.
func (d *directory) updateStaff(list []omnidesk.Staff, now time.Time, complete bool, omnideskURL string) ([]statusChange, map[*session]feed.Snapshot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	changes, relinked := d.co.updateStaff(list, now, complete)
	var out []statusChange
	for _, ch := range changes {
		out = append(out, statusChange{staffChange: ch, to: d.subs.of(ch.staffID)})
	}
	if relinked == nil {
		return out, nil
	}
	return out, d.resendLocked(relinked, omnideskURL)
}

// observeStatus stores a status read outside the poll (a switch's
// confirmation); when it differs from what the company had, it returns the
// change and the agents to tell.
func (d *directory) observeStatus(staffID, statusID int64, now time.Time) (to []*session, change feed.StatusChange, fromID int64, changed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch, changed := d.co.observeStatus(staffID, statusID, now)
	if !changed {
		return nil, feed.StatusChange{}, 0, false
	}
	return d.subs.of(staffID), ch.change, ch.fromID, true
}

// updateCatalogue stores the status catalogue; it reports whether it changed
// and, if so, every connected session to tell.
func (d *directory) updateCatalogue(sts []omnidesk.StaffStatus) (feed.Catalogue, []*session, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cat, changed := d.co.updateCatalogue(sts)
	if !changed {
		return feed.Catalogue{}, nil, false
	}
	return cat, d.subs.all(), true
}

// updateOperators stores the Chaport operator list and returns a fresh
// snapshot for every connected agent whose link it changed: an agent that
// connected while Chaport was unreachable must learn its operator.
func (d *directory) updateOperators(ops []chaport.Operator, omnideskURL string) map[*session]feed.Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.resendLocked(d.co.updateOperators(ops), omnideskURL)
}

// resendLocked returns a fresh snapshot for every connected agent of the
// relinked staff: one whose link moved must learn that.
func (d *directory) resendLocked(relinked []int64, omnideskURL string) map[*session]feed.Snapshot {
	resend := map[*session]feed.Snapshot{}
	for _, staffID := range relinked {
		if !d.subs.has(staffID) {
			continue
		}
		snap, ok := d.co.snapshot(staffID, omnideskURL)
		if !ok {
			continue
		}
		for _, s := range d.subs.of(staffID) {
			resend[s] = snap
		}
	}
	return resend
}

// join subscribes a session to its staff member's changes and hands it the
// snapshot in the same critical section, so that no change can overtake the
// snapshot on the wire. send must not block. When the staff member then has
// more than maxSessions, the oldest are unsubscribed and returned for the
// caller to close.
func (d *directory) join(staffID int64, s *session, maxSessions int, omnideskURL string, send func(feed.Snapshot) error) (joined bool, evicted []*session, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	snap, ok := d.co.snapshot(staffID, omnideskURL)
	if !ok {
		return false, nil, nil
	}
	if err := send(snap); err != nil {
		return true, nil, err
	}
	return true, d.subs.add(staffID, s, maxSessions), nil
}

func (d *directory) unsubscribe(staffID int64, s *session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.subs.remove(staffID, s)
}

// setPresence records a session's report; it says whether anything changed.
func (d *directory) setPresence(s *session, p feed.Presence) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.subs.setPresence(s, p)
}

// hostOf is the name of a session's computer, for the history.
func (d *directory) hostOf(s *session) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return s.device.host
}

func (d *directory) isReady() (ready bool, staff, agents int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ready, staff = d.co.size()
	return ready, staff, d.subs.count()
}

// sessionsOfOperator lists the connected agents of every staff member linked
// to the Chaport operator (the reverse of operatorFor).
func (d *directory) sessionsOfOperator(operatorID string) []*session {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*session
	for staffID := range d.subs.staff() {
		if op, ok := d.co.operator(staffID); ok && op.ID == operatorID {
			out = append(out, d.subs.of(staffID)...)
		}
	}
	return out
}

// sessionsWithChatAccess lists the connected agents whose staff member's
// current status gives access to chats.
func (d *directory) sessionsWithChatAccess() []*session {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*session
	for staffID := range d.subs.staff() {
		if _, access, _ := d.co.current(staffID); access {
			out = append(out, d.subs.of(staffID)...)
		}
	}
	return out
}

// The company's reads and writes that involve no agent, under the lock.

// takeLinks hands the link keeper the notes to log and the pins to save.
func (d *directory) takeLinks() (notes []linkNote, pins map[int64]string, changed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.co.takeLinks()
}

// operatorFor is the staff member's Chaport operator (company.operator).
func (d *directory) operatorFor(staffID int64) (feed.Operator, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.co.operator(staffID)
}

// setOnlineUntil records the online lease written for an operator (zero
// after an offline or invisible write).
func (d *directory) setOnlineUntil(operatorID string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.co.setOnlineUntil(operatorID, until)
}

// graceState says whether an extension of operatorID's online lease may be
// granted for staffID: when chat access ended, and until when the operator's
// lease runs.
func (d *directory) graceState(staffID int64, operatorID string) (accessLostAt, onlineUntil time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.co.graceState(staffID, operatorID)
}

// current is the staff member's status and whether it gives chat access.
func (d *directory) current(staffID int64) (statusID int64, chatAccess, known bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.co.current(staffID)
}

// statusName names a status for messages.
func (d *directory) statusName(id int64) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.co.statusName(id)
}

// statusUsable reports whether id is an active status of the catalogue.
func (d *directory) statusUsable(id int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.co.statusUsable(id)
}

// hasCatalogue reports whether a status catalogue is in.
func (d *directory) hasCatalogue() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.co.statuses != nil
}
