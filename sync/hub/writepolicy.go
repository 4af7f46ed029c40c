package hub

import (
	"context"
	"errors"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
)

// The hub's write policy: may this session have this Chaport status written
// for its employee, for this long, now — and if not, why. It is a pure
// function of what the handlers looked up, so that every refusal is pinned
// by a table test (writepolicy_test.go); the handlers only decode, ask,
// and write.

// writeAsk is one write an agent asks for, with what the hub knows.
type writeAsk struct {
	// Extend marks extend_online: renew a live online lease, also during
	// the grace delay after chat access ended.
	Extend     bool
	Status     chaport.Status // set_chaport only; extend_online is online
	TTLSeconds int
	// OperatorID is the operator the request names ("" for its own).
	OperatorID string

	Linked   bool          // the staff member has an operator
	Operator feed.Operator // that operator
	// ChatAccess is whether the staff member's Omnidesk status gives
	// access to chats; StatusName names it for the refusal.
	ChatAccess bool
	StatusName string
	// AccessLostAt is when the hub saw chat access end (zero if it did not
	// see it), OnlineUntil when the online lease it last wrote ends.
	AccessLostAt, OnlineUntil time.Time

	MaxLease, GraceAllowance time.Duration
	Now                      time.Time
}

// writeGrant is an allowed write.
type writeGrant struct {
	Operator feed.Operator
	Status   chaport.Status
	TTL      time.Duration
}

// mayWrite applies the policy. A refusal is a *feed.RemoteError: its code
// is the contract, its message is for the employee.
func mayWrite(a writeAsk) (writeGrant, error) {
	status := a.Status
	if a.Extend {
		status = chaport.Online
	}
	if status != chaport.Online && status != chaport.Offline && status != chaport.Invisible {
		return writeGrant{}, refuse(feed.CodeBadRequest, "status must be online, offline or invisible")
	}
	// Bounds on the count of seconds before it is multiplied: a huge count
	// would overflow and wrap round to a small lease that passes the check
	// (18446744103 used to become 29 s).
	maxSeconds := int64(a.MaxLease / time.Second)
	if a.TTLSeconds < 1 || int64(a.TTLSeconds) > maxSeconds {
		return writeGrant{}, refuse(feed.CodeBadRequest, "ttl_seconds must be between 1 and %d", maxSeconds)
	}
	ttl := time.Duration(a.TTLSeconds) * time.Second
	if a.OperatorID != "" && (!a.Linked || a.OperatorID != a.Operator.ID) {
		return writeGrant{}, refuse(feed.CodeForbidden, "an agent may only write its own linked operator")
	}
	if !a.Linked {
		return writeGrant{}, refuse(feed.CodeNotLinked, "no Chaport operator is linked to this staff member")
	}
	grant := writeGrant{Operator: a.Operator, Status: status, TTL: ttl}
	if status != chaport.Online || a.ChatAccess {
		return grant, nil
	}
	if !a.Extend {
		return writeGrant{}, refuse(feed.CodeNoChatAccess, "the Omnidesk status (%s) has no chat access", a.StatusName)
	}
	// The grace delay is the product's promise, but a token must not buy
	// unlimited online time without access: a live online lease may be
	// renewed for at most the grace allowance after access ended.
	limit := a.AccessLostAt.Add(a.GraceAllowance)
	switch {
	case a.AccessLostAt.IsZero() || !a.OnlineUntil.After(a.Now):
		return writeGrant{}, refuse(feed.CodeNoChatAccess,
			"the Omnidesk status (%s) has no chat access and the operator is not online", a.StatusName)
	case limit.Sub(a.Now) < time.Second:
		return writeGrant{}, refuse(feed.CodeNoChatAccess, "the grace allowance after chat access ended is used up")
	}
	grant.TTL = min(ttl, limit.Sub(a.Now).Truncate(time.Second))
	return grant, nil
}

// writeAskFor gathers what the policy needs about the session's employee.
func (s *session) writeAskFor(extend bool, status chaport.Status, ttlSeconds int, operatorID string) writeAsk {
	h := s.hub
	op, linked := h.dir.operatorFor(s.staffID)
	statusID, access, _ := h.dir.current(s.staffID)
	a := writeAsk{Extend: extend, Status: status, TTLSeconds: ttlSeconds, OperatorID: operatorID,
		Linked: linked, Operator: op, ChatAccess: access, StatusName: h.dir.statusName(statusID),
		MaxLease: time.Duration(h.cfg.File.MaxLease), GraceAllowance: time.Duration(h.cfg.File.GraceAllowance),
		Now: h.clock.Now()}
	if linked {
		a.AccessLostAt, a.OnlineUntil = h.dir.graceState(s.staffID, op.ID)
	}
	return a
}

// askWrite decides and, if allowed, writes.
func (s *session) askWrite(ctx context.Context, a writeAsk, why feed.Why) (any, error) {
	g, err := mayWrite(a)
	if err != nil {
		var re *feed.RemoteError
		if errors.As(err, &re) && re.Code == feed.CodeForbidden {
			s.hub.log.Warn("agent asked to write another operator", "staff", s.staffID)
		}
		return nil, err
	}
	return s.writeChaport(ctx, g.Operator, g.Status, g.TTL, why)
}
