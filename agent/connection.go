package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// link is the connection to the hub as the loop knows it. Only what came
// on the live connection counts: known drops with it, so that the mapping
// holds rather than acts on a status that may have changed meanwhile.
type link struct {
	state   string // Connecting, Connected or Disconnected
	err     string // why the connection last failed
	refused bool   // the hub refused the token; Run is ending
	known   bool   // a snapshot arrived on the live connection
	hub     string // the base URL of the replica connected to
	snap    feed.Snapshot
}

// connected takes the hub's snapshot of a new connection to feedURL.
func (c *link) connected(snap feed.Snapshot, feedURL string, log *slog.Logger) {
	hub := feed.HubBase(feedURL)
	if !c.known {
		// Which replica, since a hub may be several.
		log.Info(fmt.Sprintf("connected to the hub as %s (staff %d)", snap.Staff.Name, snap.Staff.ID), "hub", hub)
	}
	c.state, c.err, c.known, c.hub, c.snap = Connected, "", true, hub, snap
	if snap.Operator == nil {
		log.Warn("the hub links no Chaport operator to this employee; nothing will be written")
	}
}

// lost records a dropped connection; the feed client reconnects.
func (c *link) lost(err error, log *slog.Logger) {
	if errors.Is(err, feed.ErrUnauthorized) {
		// Run is about to return this as the agent's one fatal error;
		// logging "status unknown" before it would only confuse.
		c.refused = true
	}
	if c.known {
		log.Warn("lost the hub; status unknown, the Chaport lease will lapse on its own", "err", err)
	}
	c.state, c.known, c.hub = Disconnected, false, ""
	if err != nil {
		c.err = err.Error()
	}
}

// ended records that the feed stopped for good (tokenrefusal.go).
func (c *link) ended(err error) {
	c.state, c.err = Disconnected, err.Error()
	c.refused = errors.Is(err, feed.ErrUnauthorized)
}

// omnidesk is the employee's Omnidesk status as the hub last reported it,
// with the catalogue that says which statuses give chat access.
type omnidesk struct {
	id        int64
	catalogue rules.Catalogue
	// noAccessSince starts the grace delay; it survives reconnects so that
	// a flapping link cannot keep someone online forever.
	noAccessSince time.Time
}

// set takes a new status and reports whether it gives chat access.
func (o *omnidesk) set(id int64, now time.Time) (access bool) {
	o.id = id
	if o.catalogue.ChatAccess(id) {
		o.noAccessSince = time.Time{}
		return true
	}
	if o.noAccessSince.IsZero() {
		o.noAccessSince = now
	}
	return false
}

func (o *omnidesk) setCatalogue(statuses []feed.Status) { o.catalogue = feed.CatalogueOf(statuses) }

func (o *omnidesk) name() string { return o.catalogue.Name(o.id) }

func (o *omnidesk) chatAccess() bool { return o.catalogue.ChatAccess(o.id) }
