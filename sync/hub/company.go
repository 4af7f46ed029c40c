package hub

import (
	"slices"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/omnidesk"
	"github.com/omnitray/omnitray/sync/rules"
)

// company is what the hub knows of the company, whoever is connected: the
// staff and their Omnidesk statuses, the status catalogue with chat access,
// Chaport's operators and the staff → operator links (links.go), and the
// online leases the hub last wrote. Its updates say what changed, by staff
// member; it knows nothing of agents or sessions (subscribers.go), so that
// another replica's news can feed it as well as the hub's own pollers.
//
// It is not safe for concurrent use: the directory's lock guards it
// (directory.go).
type company struct {
	chatAccess map[int64]bool // configured custom status access
	// linkWork tells the hub's link keeper that book has notes to log or
	// pins to save (linkstate.go); it holds at most one wake-up.
	linkWork chan struct{}

	ready     bool // a staff poll has succeeded
	staff     map[int64]staffEntry
	statuses  []omnidesk.StaffStatus
	catalogue rules.Catalogue
	// Chaport operators by id, and book's staff → operator links (links.go),
	// decided again only when staff e-mails or operators change: operator
	// runs for every agent on every operator refresh and chat push, so it
	// must not scan a list.
	operatorByID map[string]chaport.Operator
	book         *linkBook
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

// staffChange is one staff member's new Omnidesk status.
type staffChange struct {
	staffID int64
	// fromID, from and toName are for the history.
	fromID       int64
	from, toName string
	change       feed.StatusChange
}

// newCompany starts from the config and the pins a last run saved.
func newCompany(fc FileConfig, pins map[int64]string) *company {
	c := &company{chatAccess: fc.chatAccess(), linkWork: make(chan struct{}, 1),
		staff: map[int64]staffEntry{}, onlineUntil: map[string]time.Time{},
		catalogue: rules.BuildCatalogue(nil, fc.chatAccess())}
	c.book = newLinkBook(fc.links(), pins)
	c.linkWork <- struct{}{} // the config may have replaced or dropped pins
	return c
}

// updateStaff stores one page of a poll and returns the status changes in
// it and, when it decided the links again, the staff whose operator that
// changed; complete marks the poll's last page, after which the company is
// ready (before it, a staff member on a later page would look unknown).
func (c *company) updateStaff(list []omnidesk.Staff, now time.Time, complete bool) (changes []staffChange, relinked []int64) {
	// Links hang on e-mails, and on nothing before a whole poll is in
	// (links.go): decide them again only then, or when an e-mail changed.
	relink := complete && !c.ready
	wasReady := c.ready
	c.ready = c.ready || complete
	for _, s := range list {
		old, known := c.staff[s.ID]
		relink = relink || wasReady && (!known || old.person.Email != s.Email)
		e := staffEntry{person: feed.Person{ID: s.ID, Name: s.FullName, Email: s.Email},
			statusID: s.StatusID, observedAt: now, accessLostAt: c.accessLost(old, known, s.StatusID, now)}
		if known && old.statusID == s.StatusID {
			e.observedAt = old.observedAt
		}
		c.staff[s.ID] = e
		if known && old.statusID != s.StatusID {
			changes = append(changes, c.change(s.ID, old.statusID, s.StatusID, now))
		}
	}
	if !relink {
		return changes, nil
	}
	return changes, c.relink(nil)
}

// observeStatus stores a status read for one staff member outside the poll
// (a switch's confirmation) and returns the change when it differs from
// what the company had. Chat access bookkeeping follows updateStaff, so
// that grace and extend_online see the same history whichever read saw the
// change first.
func (c *company) observeStatus(staffID, statusID int64, now time.Time) (staffChange, bool) {
	e, known := c.staff[staffID]
	if !known || e.statusID == statusID {
		return staffChange{}, false
	}
	ch := c.change(staffID, e.statusID, statusID, now)
	e.accessLostAt = c.accessLost(e, true, statusID, now)
	e.statusID, e.observedAt = statusID, now
	c.staff[staffID] = e
	return ch, true
}

// accessLost is when chat access ended for a staff member moving from old
// (if known) to statusID: zero while the new status has access, now if the
// old one had it, else as it was.
func (c *company) accessLost(old staffEntry, known bool, statusID int64, now time.Time) time.Time {
	switch {
	case c.catalogue.ChatAccess(statusID):
		return time.Time{}
	case known && c.catalogue.ChatAccess(old.statusID):
		return now
	default:
		return old.accessLostAt
	}
}

func (c *company) change(staffID, fromID, toID int64, now time.Time) staffChange {
	return staffChange{staffID: staffID, fromID: fromID, from: c.catalogue.Name(fromID),
		toName: c.catalogue.Name(toID), change: feed.StatusChange{StatusID: toID, ObservedAt: now}}
}

// updateCatalogue stores the status catalogue; it reports whether it
// changed and, if so, the catalogue as agents get it.
func (c *company) updateCatalogue(sts []omnidesk.StaffStatus) (feed.Catalogue, bool) {
	if slices.Equal(sts, c.statuses) {
		return feed.Catalogue{}, false
	}
	c.statuses = sts
	names := make(map[int64]string, len(sts))
	for _, s := range sts {
		names[s.ID] = s.Name
	}
	c.catalogue = rules.BuildCatalogue(names, c.chatAccess)
	return feed.Catalogue{Statuses: c.feedStatuses()}, true
}

func (c *company) feedStatuses() []feed.Status {
	out := make([]feed.Status, 0, len(c.statuses))
	for _, s := range c.statuses {
		out = append(out, feed.Status{ID: s.ID, Name: s.Name, Active: s.Active,
			ChatAccess: c.catalogue.ChatAccess(s.ID)})
	}
	return out
}

// updateOperators stores the Chaport operator list and returns the staff
// whose operator it changed: linked or unlinked, or the operator's name or
// e-mail as the snapshot shows it.
func (c *company) updateOperators(ops []chaport.Operator) (relinked []int64) {
	return c.relink(func() {
		c.operatorByID = make(map[string]chaport.Operator, len(ops))
		for _, o := range ops {
			if _, dup := c.operatorByID[o.ID]; !dup {
				c.operatorByID[o.ID] = o
			}
		}
	})
}

// relink applies change (if any), runs the link rules (links.go) on what
// the company then knows, wakes the link keeper if there is something to
// log or save, and returns the staff whose operator differs from before.
func (c *company) relink(change func()) (relinked []int64) {
	before := make(map[int64]feed.Operator, len(c.book.links))
	for staffID := range c.book.links {
		before[staffID], _ = c.operator(staffID)
	}
	if change != nil {
		change()
	}
	staff := make([]linkStaff, 0, len(c.staff))
	for id, e := range c.staff {
		staff = append(staff, linkStaff{ID: id, Email: e.person.Email})
	}
	ops := make([]linkOperator, 0, len(c.operatorByID))
	for _, o := range c.operatorByID {
		ops = append(ops, linkOperator{ID: o.ID, Email: o.Email})
	}
	if c.book.update(staff, ops, c.ready, c.operatorByID != nil) {
		select {
		case c.linkWork <- struct{}{}:
		default: // a wake-up is already waiting; it takes this too
		}
	}
	for staffID := range c.book.links {
		if now, _ := c.operator(staffID); now != before[staffID] {
			relinked = append(relinked, staffID)
		}
	}
	for staffID := range before {
		if _, still := c.book.links[staffID]; !still {
			relinked = append(relinked, staffID)
		}
	}
	return relinked
}

// takeLinks hands the link keeper the notes to log and the pins to save.
func (c *company) takeLinks() (notes []linkNote, pins map[int64]string, changed bool) {
	return c.book.take()
}

// operator resolves the staff member's Chaport operator: the configured
// link, else the pinned one, else (once, then pinned) the operator with the
// same e-mail; see links.go.
func (c *company) operator(staffID int64) (feed.Operator, bool) {
	id, ok := c.book.operator(staffID)
	if !ok {
		return feed.Operator{}, false
	}
	if o, ok := c.operatorByID[id]; ok {
		return feed.Operator{ID: o.ID, Name: o.Name, Email: o.Email}, true
	}
	// Configured or pinned but not (yet) seen in Chaport: trust the link.
	return feed.Operator{ID: id}, true
}

// snapshot is everything an agent of staffID starts from; false for staff
// the company does not know.
func (c *company) snapshot(staffID int64, omnideskURL string) (feed.Snapshot, bool) {
	e, ok := c.staff[staffID]
	if !ok {
		return feed.Snapshot{}, false
	}
	snap := feed.Snapshot{Staff: e.person, Statuses: c.feedStatuses(), StatusID: e.statusID,
		ObservedAt: e.observedAt, OmnideskURL: omnideskURL}
	if op, ok := c.operator(staffID); ok {
		snap.Operator = &op
	}
	return snap, true
}

// setOnlineUntil records the online lease written for an operator (zero
// after an offline or invisible write).
func (c *company) setOnlineUntil(operatorID string, until time.Time) {
	if until.IsZero() {
		delete(c.onlineUntil, operatorID)
		return
	}
	c.onlineUntil[operatorID] = until
}

// graceState says when staffID's chat access ended, and until when
// operatorID's online lease runs.
func (c *company) graceState(staffID int64, operatorID string) (accessLostAt, onlineUntil time.Time) {
	return c.staff[staffID].accessLostAt, c.onlineUntil[operatorID]
}

// current is the staff member's status and whether it gives chat access.
func (c *company) current(staffID int64) (statusID int64, chatAccess, known bool) {
	e, ok := c.staff[staffID]
	if !ok {
		return 0, false, false
	}
	return e.statusID, c.catalogue.ChatAccess(e.statusID), true
}

// size says whether a whole staff poll is in, and how many staff it holds.
func (c *company) size() (ready bool, staff int) { return c.ready, len(c.staff) }

// statusName names a status for messages.
func (c *company) statusName(id int64) string { return c.catalogue.Name(id) }

// statusUsable reports whether id is an active status of the catalogue.
func (c *company) statusUsable(id int64) bool {
	for _, s := range c.statuses {
		if s.ID == id {
			return s.Active
		}
	}
	return false
}
