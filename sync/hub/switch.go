package hub

import (
	"context"
	"errors"

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
func (s *session) confirmSwitch(ctx context.Context, statusID int64) (any, error) {
	h := s.hub
	want := h.dir.statusName(statusID)
	var rec *omnidesk.Staff
	err := h.omnideskCall(ctx, 2, func(ctx context.Context) (err error) {
		rec, err = h.cfg.Omnidesk.SetStaffStatus(ctx, s.staffID, statusID)
		return err
	})
	if err != nil {
		h.log.Warn("Omnidesk status switch failed", "staff", s.staffID, "status", statusID, "err", err)
		return nil, switchRefusal(want, err)
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
			back, err = h.cfg.Omnidesk.GetStaff(ctx, s.staffID)
			return err
		})
		if err != nil {
			h.log.Warn("Omnidesk status switch sent, but reading it back failed", "staff", s.staffID,
				"status", statusID, "err", err)
			return nil, unconfirmed(want, err)
		}
		shown = back.StatusID
	}
	now := h.clock.Now()
	if shown > 0 {
		if to, change, from, changed := h.dir.observeStatus(s.staffID, shown, now); changed {
			switchedOn := ""
			if shown == statusID {
				switchedOn = h.dir.hostOf(s)
			}
			h.history.omnidesk(s.staffID, h.dir.statusName(from), h.dir.statusName(shown), now, switchedOn)
			h.push(to, feed.TypeStatus, change)
		}
	}
	if shown != statusID {
		h.log.Warn("Omnidesk did not apply a status switch", "staff", s.staffID, "status", statusID,
			"shows", shown, "checked_by", checkedBy)
		if shown <= 0 {
			return nil, refuse(feed.CodeNotApplied, "Omnidesk did not apply «%s»", want)
		}
		return nil, refuse(feed.CodeNotApplied, "Omnidesk did not apply «%s»; it still shows «%s»",
			want, h.dir.statusName(shown))
	}
	h.log.Info("Omnidesk status switch confirmed", "staff", s.staffID, "status", statusID, "checked_by", checkedBy)
	return feed.StatusChange{StatusID: shown, ObservedAt: now}, nil
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
