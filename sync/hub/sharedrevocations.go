package hub

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
)

// Revocations across replicas. `omnitray-hub token revoke` writes the
// tokens.json of the one state directory it is given; the replica that
// reads that directory shares its revocations under its own key
// (keyRevocations + node), so that no two replicas ever write the same key,
// and every replica refuses what any of them has revoked. A revocation
// made on a replica that is down at the time is shared when it starts.

const keyRevocations = "revocations."

// sharedRevocations is the revocationList of a replica: its own file's,
// and each other replica's shared ones.
type sharedRevocations struct {
	own  revocationList
	rep  *replication
	node string

	mu     sync.Mutex
	others map[string]TokenRegistry // by node, revocations only
	news   bool                     // others changed since the last Refresh
	shared bool                     // own revocations shared since they last changed
	mine   TokenRegistry            // own revocations as last read
}

// newSharedRevocations wraps own (the file's list) and starts watching the
// other replicas' revocations (in the background: the shared state may not
// answer yet while the cluster forms).
func newSharedRevocations(ctx context.Context, own revocationList, rep *replication) *sharedRevocations {
	s := &sharedRevocations{own: own, rep: rep, node: rep.r.Node(), others: map[string]TokenRegistry{}}
	rep.hub.watchShared(ctx, keyRevocations, func(key string, data []byte) {
		node := strings.TrimPrefix(key, keyRevocations)
		if node == s.node {
			return
		}
		reg, err := ParseTokenRegistry(data)
		if err != nil {
			rep.hub.log.Warn("ignoring another replica's unreadable token revocations", "replica", node, "err", err)
			return
		}
		s.mu.Lock()
		s.others[node] = reg
		s.news = true
		s.mu.Unlock()
	})
	return s
}

// Refresh reads the own file again, shares its revocations if they changed
// (or an earlier share failed), and reports changes from either side.
func (s *sharedRevocations) Refresh() (bool, error) {
	changed, err := s.own.Refresh()
	if fr, ok := s.own.(*fileRevocations); ok && (changed || !s.shared) {
		fr.mu.RLock()
		mine := TokenRegistry{Version: fr.reg.Version, Revoked: fr.reg.Revoked, StaffRevoked: fr.reg.StaffRevoked}
		fr.mu.RUnlock()
		s.share(mine)
	}
	s.mu.Lock()
	news := s.news
	s.news = false
	s.mu.Unlock()
	return changed || news, err
}

func (s *sharedRevocations) share(mine TokenRegistry) {
	mine.Version = 1 // tokens.json's, so that ParseTokenRegistry reads it
	data, err := json.Marshal(mine)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedStateTimeout)
		err = s.rep.r.Put(ctx, keyRevocations+s.node, data)
		cancel()
	}
	s.rep.note("put "+keyRevocations+s.node, err, "sharing token revocations with the other replicas failed; retrying")
	s.shared = err == nil
}

func (s *sharedRevocations) IsRevoked(c Claims) bool {
	if s.own.IsRevoked(c) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, reg := range s.others {
		if reg.IsRevoked(c) {
			return true
		}
	}
	return false
}
