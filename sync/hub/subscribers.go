package hub

import (
	"iter"
	"maps"
	"time"
)

// subscribers is the hub's registry of connected agents: each staff
// member's sessions, the order they joined in, their computers' presence
// and which of them keeps the Chaport operator (devices.go), and the cap on
// sessions per staff member. It knows nothing of statuses or links (that is
// the company, company.go): a push goes to the sessions it lists for the
// staff member a change is about, whoever computed the change.
//
// It is not safe for concurrent use: the directory's lock guards it, and
// with it the fields it alone writes in each session (seq, device).
type subscribers struct {
	byStaff map[int64]map[*session]struct{}
	joins   uint64 // sessions ever joined, to order them by age
	// lastJoined keeps the sessions' join times in join order, so that
	// ordering computers across replicas by time agrees with seq here.
	lastJoined time.Time
	// node names this replica and remote holds the other replicas'
	// computers (remotedevices.go); both empty for a hub alone.
	node   string
	remote map[int64]map[string]remoteSessions
}

func newSubscribers() *subscribers {
	return &subscribers{byStaff: map[int64]map[*session]struct{}{}, remote: map[int64]map[string]remoteSessions{}}
}

// add subscribes s to staffID. When the staff member then has more than
// maxSessions (at least one), the oldest are unsubscribed and returned for
// the caller to close: one token must not hold the hub's descriptors.
func (r *subscribers) add(staffID int64, s *session, maxSessions int) (evicted []*session) {
	set := r.byStaff[staffID]
	if set == nil {
		set = map[*session]struct{}{}
		r.byStaff[staffID] = set
	}
	r.joins++
	s.seq = r.joins
	if s.joined.Before(r.lastJoined) {
		s.joined = r.lastJoined
	}
	r.lastJoined = s.joined
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
	return evicted
}

// remove unsubscribes s; removing it twice is harmless.
func (r *subscribers) remove(staffID int64, s *session) {
	delete(r.byStaff[staffID], s)
	if len(r.byStaff[staffID]) == 0 {
		delete(r.byStaff, staffID)
	}
}

// of lists a staff member's sessions.
func (r *subscribers) of(staffID int64) []*session {
	set := r.byStaff[staffID]
	out := make([]*session, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	return out
}

// has reports whether anyone is subscribed for staffID.
func (r *subscribers) has(staffID int64) bool { return len(r.byStaff[staffID]) > 0 }

// staff yields every staff member with a session.
func (r *subscribers) staff() iter.Seq[int64] { return maps.Keys(r.byStaff) }

// all lists every session.
func (r *subscribers) all() []*session {
	var out []*session
	for _, set := range r.byStaff {
		for s := range set {
			out = append(out, s)
		}
	}
	return out
}

// count is how many sessions are subscribed.
func (r *subscribers) count() (n int) {
	for _, set := range r.byStaff {
		n += len(set)
	}
	return n
}
