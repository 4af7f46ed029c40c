package hub

import (
	"context"
	"errors"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/omnidesk"
	"github.com/omnitray/omnitray/sync/vendorapi"
)

// A status switch is confirmed, not assumed. No Omnidesk document describes
// writing a staff status, so the write may be refused, or answered 200 and
// silently ignored; reporting that as success would leave the employee
// believing a status Omnidesk does not show. The hub therefore takes the
// switch as done only when Omnidesk shows the new status: from the write's
// reply when that carries the staff record, else from GET /staff/{id}.json,
// paced like every other Omnidesk call (cost 1, urgent: see omnideskCallAs).
//
// A poll page read before the switch and applied after its confirmation
// would put the old status back until the next poll; that needs a page
// request slower than the three pacing slots a switch takes, and the next
// poll mends it, so it is left at that.

// confirmSwitch writes the switch, checks what Omnidesk shows afterwards and
// answers with that status, or with not_applied. Whatever it sees it stores
// and pushes to the employee's agents at once, as a poll would: it is the
// freshest word from Omnidesk, and the agents should not wait a poll for it.
// host is the computer the switch was asked from, for the history. Only the
// leader runs it: other replicas forward the switch (replication.go).
func (h *Hub) confirmSwitch(ctx context.Context, staffID, statusID int64, host string) (feed.StatusChange, error) {
	want := h.dir.statusName(statusID)
	var rec *omnidesk.Staff
	err := h.omnideskCall(ctx, 2, func(ctx context.Context) (err error) {
		rec, err = h.cfg.Omnidesk.SetStaffStatus(ctx, staffID, statusID)
		return err
	})
	if err != nil {
		h.log.Warn("Omnidesk status switch failed", "staff", staffID, "status", statusID, "err", err)
		return feed.StatusChange{}, switchRefusal(want, err)
	}
	checkedBy := "the write's reply"
	shown := int64(0)
	if rec != nil {
		shown = rec.StatusID
	} else {
		checkedBy = "a read-back"
		var back omnidesk.Staff
		// Cost 1 like a poll, but urgent like the switch it completes.
		err := h.omnideskCallAs(ctx, 1, true, func(ctx context.Context) (err error) {
			back, err = h.cfg.Omnidesk.GetStaff(ctx, staffID)
			return err
		})
		if err != nil {
			h.log.Warn("Omnidesk status switch sent, but reading it back failed", "staff", staffID,
				"status", statusID, "err", err)
			return feed.StatusChange{}, unconfirmed(want, err)
		}
		shown = back.StatusID
	}
	now := h.clock.Now()
	if shown > 0 {
		switchedOn := ""
		if shown == statusID {
			switchedOn = host
		}
		h.applyObserved(staffID, shown, now, switchedOn)
		h.rep.publish(subjectObserved, observedMsg{Staff: staffID, Status: shown, At: now, SwitchedOn: switchedOn})
	}
	if shown != statusID {
		h.log.Warn("Omnidesk did not apply a status switch", "staff", staffID, "status", statusID,
			"shows", shown, "checked_by", checkedBy)
		if shown <= 0 {
			return feed.StatusChange{}, refuse(feed.CodeNotApplied, "Omnidesk did not apply «%s»", want)
		}
		return feed.StatusChange{}, refuse(feed.CodeNotApplied, "Omnidesk did not apply «%s»; it still shows «%s»",
			want, h.dir.statusName(shown))
	}
	h.log.Info("Omnidesk status switch confirmed", "staff", staffID, "status", statusID, "checked_by", checkedBy)
	return feed.StatusChange{StatusID: shown, ObservedAt: now}, nil
}

// applyObserved stores a status a switch's confirmation read (here or on
// the leader) and pushes it to this replica's agents of the employee.
func (h *Hub) applyObserved(staffID, statusID int64, now time.Time, switchedOn string) {
	to, change, from, changed := h.dir.observeStatus(staffID, statusID, now)
	if !changed {
		return
	}
	h.history.omnidesk(staffID, h.dir.statusName(from), h.dir.statusName(statusID), now, switchedOn)
	h.push(to, feed.TypeStatus, change)
}

// switchRefusal is vendorRefusal naming the status, so that the employee
// reads which switch Omnidesk refused.
func switchRefusal(want string, err error) error {
	var re *feed.RemoteError
	if !errors.As(vendorRefusal("Omnidesk", err), &re) || re.Code != feed.CodeRefused {
		return vendorRefusal("Omnidesk", err)
	}
	re.Message = "Omnidesk refused the switch to «" + want + "»"
	if ve := (*vendorapi.Error)(nil); errors.As(err, &ve) && ve.Message != "" {
		re.Message += ": " + ve.Message
	}
	return re
}

// unconfirmed is the answer when the switch went out but the read-back
// failed: the code says why (unavailable, rate_limited…), the message that
// the switch may or may not have happened.
func unconfirmed(want string, err error) error {
	var re *feed.RemoteError
	if !errors.As(vendorRefusal("Omnidesk", err), &re) {
		return err
	}
	re.Message = "the switch to «" + want + "» was sent but could not be confirmed (" + re.Message + ")"
	return re
}
