package hub

import (
	"slices"
	"sync"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/omnidesk"
	"github.com/omnitray/omnitray/sync/rules"
)

// directory is what the hub knows of the company: staff and their statuses,
// the catalogue with chat access, Chaport operators, and which agents are
// connected for whom. The pollers write it; the websocket sessions read it
// and are told of changes.
type directory struct {
	chatAccess map[int64]bool // configured custom status access
	// linkWork tells the hub's link keeper that book has notes to log or
	// pins to save (linkstate.go); it holds at most one wake-up.
	linkWork chan struct{}

	mu        sync.Mutex
	ready     bool // a staff poll has succeeded
	staff     map[int64]staffEntry
	statuses  []omnidesk.StaffStatus
	catalogue rules.Catalogue
	// Chaport operators by id, and book's staff → operator links (links.go),
	// decided again only when staff e-mails or operators change:
	// operatorLocked runs for every agent on every operator refresh and
	// chat push, so it must not scan a list.
	operatorByID map[string]chaport.Operator
	book         *linkBook
	subs         map[int64]map[*session]struct{}
	joins        uint64 // sessions ever joined, to order them by age
	// onlineUntil is when the online lease this hub last wrote for an
	// operator ends; extend_online only ever prolongs a live one.
	onlineUntil map[string]time.Time
}

type staffEntry struct {
	person     feed.Person
	statusID   int64
	observedAt time.Time
	// accessLostAt is when the poller saw chat access end (zero while the
	// status has access, or if it ended before the hub was watching).
	accessLostAt time.Time
}

// newDirectory starts from the config and the pins a last run saved.
func newDirectory(fc FileConfig, pins map[int64]string) *directory {
	d := &directory{chatAccess: fc.chatAccess(), linkWork: make(chan struct{}, 1),
		staff: map[int64]staffEntry{}, subs: map[int64]map[*session]struct{}{},
		onlineUntil: map[string]time.Time{},
		catalogue:   rules.BuildCatalogue(nil, fc.chatAccess())}
	d.book = newLinkBook(fc.links(), pins)
	d.linkWork <- struct{}{} // the config may have replaced or dropped pins
	return d
}

// statusChange is one staff member's new status, to push to their agents.
type statusChange struct {
	staffID int64
	// fromID, from and toName are for the history.
	fromID       int64
	from, toName string
	change       feed.StatusChange
	to           []*session
}

// updateStaff stores one page of a poll and returns the changes to push,
// and a fresh snapshot for every agent whose operator link it changed;
// complete marks the poll's last page, after which agents may connect
// (before it, a staff member on a later page would look unknown).
func (d *directory) updateStaff(list []omnidesk.Staff, now time.Time, complete bool, omnideskURL string) ([]statusChange, map[*session]feed.Snapshot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// Links hang on e-mails, and on nothing before a whole poll is in
	// (links.go): decide them again only then, or when an e-mail changed.
	relink := complete && !d.ready
	wasReady := d.ready
	d.ready = d.ready || complete
	var out []statusChange
	for _, s := range list {
		old, known := d.staff[s.ID]
		relink = relink || wasReady && (!known || old.person.Email != s.Email)
		e := staffEntry{person: feed.Person{ID: s.ID, Name: s.FullName, Email: s.Email},
			statusID: s.StatusID, observedAt: now}
		if known && old.statusID == s.StatusID {
			e.observedAt = old.observedAt
		}
		switch access := d.catalogue.ChatAccess(s.StatusID); {
		case access:
		case known && d.catalogue.ChatAccess(old.statusID):
			e.accessLostAt = now
		default:
			e.accessLostAt = old.accessLostAt
		}
		d.staff[s.ID] = e
		if known && old.statusID != s.StatusID {
			out = append(out, statusChange{staffID: s.ID, to: d.sessionsOf(s.ID),
				from: d.catalogue.Name(old.statusID), toName: d.catalogue.Name(s.StatusID), fromID: old.statusID,
				change: feed.StatusChange{StatusID: s.StatusID, ObservedAt: now}})
		}
	}
	if !relink {
		return out, nil
	}
	return out, d.relinkLocked(omnideskURL)
}

// updateCatalogue stores the status catalogue; it reports whether it changed
// and, if so, every connected session to tell.
func (d *directory) updateCatalogue(sts []omnidesk.StaffStatus) (feed.Catalogue, []*session, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if slices.Equal(sts, d.statuses) {
		return feed.Catalogue{}, nil, false
	}
	d.statuses = sts
	names := make(map[int64]string, len(sts))
	for _, s := range sts {
		names[s.ID] = s.Name
	}
	d.catalogue = rules.BuildCatalogue(names, d.chatAccess)
	var all []*session
	for _, set := range d.subs {
		for s := range set {
			all = append(all, s)
		}
	}
	return feed.Catalogue{Statuses: d.feedStatuses()}, all, true
}

func (d *directory) feedStatuses() []feed.Status {
	out := make([]feed.Status, 0, len(d.statuses))
	for _, s := range d.statuses {
		out = append(out, feed.Status{ID: s.ID, Name: s.Name, Active: s.Active,
			ChatAccess: d.catalogue.ChatAccess(s.ID)})
	}
	return out
}

// updateOperators stores the Chaport operator list and returns a fresh
// snapshot for every connected agent whose link it changed: an agent that
// connected while Chaport was unreachable must learn its operator.
func (d *directory) updateOperators(ops []chaport.Operator, omnideskURL string) map[*session]feed.Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	before := d.subscribedOperatorsLocked()
	d.operatorByID = make(map[string]chaport.Operator, len(ops))
	for _, o := range ops {
		if _, dup := d.operatorByID[o.ID]; !dup {
			d.operatorByID[o.ID] = o
		}
	}
	d.relinkLinksLocked()
	return d.resendLocked(before, omnideskURL)
}

// relinkLocked decides the links again after a staff change and returns a
// fresh snapshot for every agent whose operator that changed.
func (d *directory) relinkLocked(omnideskURL string) map[*session]feed.Snapshot {
	before := d.subscribedOperatorsLocked()
	d.relinkLinksLocked()
	return d.resendLocked(before, omnideskURL)
}

// relinkLinksLocked runs the link rules (links.go) on what the directory
// knows, and wakes the link keeper if there is something to log or save.
func (d *directory) relinkLinksLocked() {
	staff := make([]linkStaff, 0, len(d.staff))
	for id, e := range d.staff {
		staff = append(staff, linkStaff{ID: id, Email: e.person.Email})
	}
	ops := make([]linkOperator, 0, len(d.operatorByID))
	for _, o := range d.operatorByID {
		ops = append(ops, linkOperator{ID: o.ID, Email: o.Email})
	}
	if d.book.update(staff, ops, d.ready, d.operatorByID != nil) {
		select {
		case d.linkWork <- struct{}{}:
		default: // a wake-up is already waiting; it takes this too
		}
	}
}

// takeLinks hands the link keeper the notes to log and the pins to save.
func (d *directory) takeLinks() (notes []linkNote, pins map[int64]string, changed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.book.take()
}

// subscribedOperatorsLocked is the operator of every connected agent's
// staff member, to compare after a relink.
func (d *directory) subscribedOperatorsLocked() map[int64]feed.Operator {
	before := make(map[int64]feed.Operator, len(d.subs))
	for staffID := range d.subs {
		before[staffID], _ = d.operatorLocked(staffID)
	}
	return before
}

// resendLocked returns a fresh snapshot for every connected agent whose
// operator differs from before: an agent that connected while Chaport was
// unreachable must learn its operator, and one whose link moved must learn
// that too.
func (d *directory) resendLocked(before map[int64]feed.Operator, omnideskURL string) map[*session]feed.Snapshot {
	resend := map[*session]feed.Snapshot{}
	for staffID, set := range d.subs {
		if now, _ := d.operatorLocked(staffID); now == before[staffID] {
			continue
		}
		snap, ok := d.snapshotLocked(staffID, omnideskURL)
		if !ok {
			continue
		}
		for s := range set {
			resend[s] = snap
		}
	}
	return resend
}

// operatorFor resolves the staff member's Chaport operator: the configured
// link, else the pinned one, else (once, then pinned) the operator with the
// same e-mail; see links.go.
func (d *directory) operatorFor(staffID int64) (feed.Operator, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.operatorLocked(staffID)
}

func (d *directory) operatorLocked(staffID int64) (feed.Operator, bool) {
	id, ok := d.book.operator(staffID)
	if !ok {
		return feed.Operator{}, false
	}
	if o, ok := d.operatorByID[id]; ok {
		return feed.Operator{ID: o.ID, Name: o.Name, Email: o.Email}, true
	}
	// Configured or pinned but not (yet) seen in Chaport: trust the link.
	return feed.Operator{ID: id}, true
}

// join subscribes a session to its staff member's changes and hands it the
// snapshot in the same critical section, so that no change can overtake the
// snapshot on the wire. send must not block. When the staff member then has
// more than maxSessions, the oldest are unsubscribed and returned for the
// caller to close: one token must not hold the hub's descriptors.
func (d *directory) join(staffID int64, s *session, maxSessions int, omnideskURL string, send func(feed.Snapshot) error) (joined bool, evicted []*session, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	snap, ok := d.snapshotLocked(staffID, omnideskURL)
	if !ok {
		return false, nil, nil
	}
	if err := send(snap); err != nil {
		return true, nil, err
	}
	if d.subs[staffID] == nil {
		d.subs[staffID] = map[*session]struct{}{}
	}
	d.joins++
	s.seq = d.joins
	set := d.subs[staffID]
	set[s] = struct{}{}
	for len(set) > max(maxSessions, 1) {
		var oldest *session
		for o := range set {
			if oldest == nil || o.seq < oldest.seq {
				oldest = o
			}
		}
		delete(set, oldest)
		evicted = append(evicted, oldest)
	}
	return true, evicted, nil
}

func (d *directory) snapshotLocked(staffID int64, omnideskURL string) (feed.Snapshot, bool) {
	e, ok := d.staff[staffID]
	if !ok {
		return feed.Snapshot{}, false
	}
	snap := feed.Snapshot{Staff: e.person, Statuses: d.feedStatuses(), StatusID: e.statusID,
		ObservedAt: e.observedAt, OmnideskURL: omnideskURL}
	if op, ok := d.operatorLocked(staffID); ok {
		snap.Operator = &op
	}
	return snap, true
}

// setOnlineUntil records the online lease written for an operator (zero
// after an offline or invisible write).
func (d *directory) setOnlineUntil(operatorID string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if until.IsZero() {
		delete(d.onlineUntil, operatorID)
		return
	}
	d.onlineUntil[operatorID] = until
}

// graceState says whether an extension of operatorID's online lease may be
// granted for staffID: when chat access ended, and until when the operator's
// lease runs.
func (d *directory) graceState(staffID int64, operatorID string) (accessLostAt, onlineUntil time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.staff[staffID].accessLostAt, d.onlineUntil[operatorID]
}

// current is the staff member's status and whether it gives chat access.
func (d *directory) current(staffID int64) (statusID int64, chatAccess, known bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.staff[staffID]
	if !ok {
		return 0, false, false
	}
	return e.statusID, d.catalogue.ChatAccess(e.statusID), true
}

// hostOf is the name of a session's computer, for the history.
func (d *directory) hostOf(s *session) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.device.host == "" {
		return ""
	}
	return s.device.host
}

// statusName names a status for messages.
func (d *directory) statusName(id int64) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.catalogue.Name(id)
}

// statusUsable reports whether id is an active status of the catalogue.
func (d *directory) statusUsable(id int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.statuses {
		if s.ID == id {
			return s.Active
		}
	}
	return false
}

func (d *directory) isReady() (ready bool, staff, agents int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, set := range d.subs {
		agents += len(set)
	}
	return d.ready, len(d.staff), agents
}

func (d *directory) unsubscribe(staffID int64, s *session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.subs[staffID], s)
	if len(d.subs[staffID]) == 0 {
		delete(d.subs, staffID)
	}
}

// sessionsOf lists a staff member's connected agents; callers hold d.mu.
func (d *directory) sessionsOf(staffID int64) []*session {
	out := make([]*session, 0, len(d.subs[staffID]))
	for s := range d.subs[staffID] {
		out = append(out, s)
	}
	return out
}

// sessionsOfOperator lists the connected agents of every staff member linked
// to the Chaport operator (the reverse of operatorFor).
func (d *directory) sessionsOfOperator(operatorID string) []*session {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*session
	for staffID := range d.subs {
		if op, ok := d.operatorLocked(staffID); ok && op.ID == operatorID {
			out = append(out, d.sessionsOf(staffID)...)
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
	for staffID := range d.subs {
		if e, ok := d.staff[staffID]; ok && d.catalogue.ChatAccess(e.statusID) {
			out = append(out, d.sessionsOf(staffID)...)
		}
	}
	return out
}
