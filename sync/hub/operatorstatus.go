package hub

import (
	"sync"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
)

// operatorStatuses remembers each operator's Chaport status as the hub last
// read it, for the snapshot: an agent that starts while Chaport already
// shows what the mapping wants must not count down, announce or write it
// again. It is filled from the operator list the hub reads anyway (one call
// for the whole account, however many agents join) and from the answers to
// the hub's own writes and read-backs, which are fresher; it never makes a
// Chaport call of its own. Its own lock, never held with the directory's,
// so that it can be read inside the directory's join.
type operatorStatuses struct {
	mu   sync.Mutex
	byID map[string]feed.ChaportSeen
}

func newOperatorStatuses() *operatorStatuses {
	return &operatorStatuses{byID: map[string]feed.ChaportSeen{}}
}

// fromList stores the statuses of an operator list whose call started at
// at. An entry read after that (a write answered while the list was on its
// way) is newer and kept; operators no longer listed are forgotten, which
// bounds the map by the account's operators.
func (o *operatorStatuses) fromList(ops []chaport.Operator, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	next := make(map[string]feed.ChaportSeen, len(ops))
	for _, op := range ops {
		if op.ID == "" || op.RealStatus == "" {
			continue // a list without statuses tells nothing
		}
		seen := feed.ChaportSeen{Status: op.LastStatus, RealStatus: op.RealStatus, ReadAt: at}
		if old, ok := o.byID[op.ID]; ok && old.ReadAt.After(at) {
			seen = old
		}
		next[op.ID] = seen
	}
	o.byID = next
}

// note stores what Chaport answered about one operator at at.
func (o *operatorStatuses) note(id string, op chaport.Operator, at time.Time) {
	if id == "" || op.RealStatus == "" {
		return // Chaport's write answer is undocumented: it may say nothing
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if old, ok := o.byID[id]; ok && old.ReadAt.After(at) {
		return
	}
	o.byID[id] = feed.ChaportSeen{Status: op.LastStatus, RealStatus: op.RealStatus, ReadAt: at}
}

// get returns the operator's last known status, or nil.
func (o *operatorStatuses) get(id string) *feed.ChaportSeen {
	o.mu.Lock()
	defer o.mu.Unlock()
	seen, ok := o.byID[id]
	if !ok {
		return nil
	}
	return &seen
}

// withChaport adds the operator's last known Chaport status to a snapshot.
func (h *Hub) withChaport(snap feed.Snapshot) feed.Snapshot {
	if snap.Operator != nil {
		snap.Chaport = h.opStatus.get(snap.Operator.ID)
	}
	return snap
}
