package sandbox

import (
	"fmt"
	"time"
)

// StaffOperator is one employee added by AddStaff: an Omnidesk staff member
// and the Chaport operator linked to them by e-mail, as the hub links them
// by default.
type StaffOperator struct {
	StaffID    int64
	OperatorID string
	Email      string
	Name       string
}

// maxAddedStaff bounds AddStaff so that a typo cannot build a company the
// fakes would answer slowly.
const maxAddedStaff = 10_000

// AddStaff adds n employees to the seed company, for load and chaos tests
// that need more than the three seed employees. Each gets a staff member
// (status Offline, ids following the highest one in use, e-mail
// "staff<id>@acme.test") and a Chaport operator with the same e-mail and an
// id of the seed operators' form (24 hex digits), last status offline. The
// seed data is left as it is; AddStaff may be called before or after Start.
func (s *Sandbox) AddStaff(n int) []StaffOperator {
	if n <= 0 {
		return nil
	}
	n = min(n, maxAddedStaff)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	created := time.Date(2024, 3, 11, 9, 30, 0, 0, moscow)
	login := now.Add(-26 * time.Hour).UTC()
	next := int64(0)
	for _, st := range s.staff {
		next = max(next, st.ID)
	}
	out := make([]StaffOperator, 0, n)
	for range n {
		next++
		id := fmt.Sprintf("5f1a2b3c4d5e6f70%08x", next)
		for s.findOperator(id) != nil { // ids only grow, so only older operators can clash
			next++
			id = fmt.Sprintf("5f1a2b3c4d5e6f70%08x", next)
		}
		email := fmt.Sprintf("staff%d@acme.test", next)
		name := fmt.Sprintf("Employee %d", next)
		s.staff = append(s.staff, &staff{ID: next, Email: email, FullName: name,
			Signature: "— " + name, SignatureChat: name, Active: true, StatusID: StatusOffline,
			CreatedAt: created, UpdatedAt: now.In(moscow)})
		s.operators = append(s.operators, &operator{ID: id, Email: email, Name: name,
			Language: "en", JobTitle: "Support", Role: "operator", LastLoginAt: login,
			LastActivityAt: login, LastStatus: "offline"})
		out = append(out, StaffOperator{StaffID: next, OperatorID: id, Email: email, Name: name})
	}
	return out
}
