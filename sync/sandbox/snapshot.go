package sandbox

import (
	"net/http"
	"time"
)

// State is what the control page and tests see of the sandbox.
type State struct {
	Now         time.Time        `json:"now"`
	ChaportURL  string           `json:"chaport_url"`
	OmnideskURL string           `json:"omnidesk_url"`
	Statuses    []StatusState    `json:"statuses"`
	Staff       []StaffState     `json:"staff"`
	Operators   []OperatorState  `json:"operators"`
	Chats       []ChatState      `json:"chats"`
	Chaport     ChaportSettings  `json:"chaport"`
	Omnidesk    OmnideskSettings `json:"omnidesk"`
	BudgetUsed  int              `json:"budget_used"`
	Calls       int              `json:"calls"`
}

// StatusState is one Omnidesk status with its chat access.
type StatusState struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Active     bool   `json:"active"`
	ChatAccess bool   `json:"chat_access"`
}

// StaffState is one Omnidesk staff member.
type StaffState struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	StatusID int64  `json:"status_id"`
}

// OperatorState is one Chaport operator with its lease.
type OperatorState struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	LastStatus string    `json:"last_status"`
	RealStatus string    `json:"real_status"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	// LeaseLeft is the lease's remaining seconds on the sandbox clock.
	LeaseLeft float64 `json:"lease_left_seconds"`
	Manual    bool    `json:"manual"`
}

// ChatState summarises one visitor's latest chat.
type ChatState struct {
	VisitorID   string   `json:"visitor_id"`
	VisitorName string   `json:"visitor_name"`
	ChatID      int64    `json:"chat_id"`
	Stage       string   `json:"stage"`
	Operators   []string `json:"operators"`
	Events      int      `json:"events"`
}

// State returns a copy of the sandbox's state.
func (s *Sandbox) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	st := State{Now: now, ChaportURL: s.ChaportURL, OmnideskURL: s.OmnideskURL,
		Chaport: s.chaportS, Omnidesk: s.omnideskS, Calls: s.log.seq}
	if s.budget.start.Equal(now.Truncate(time.Minute)) {
		st.BudgetUsed = s.budget.used
	}
	for _, x := range s.statuses {
		st.Statuses = append(st.Statuses, StatusState{x.ID, x.Name, x.Active, x.ChatAccess})
	}
	for _, x := range s.staff {
		st.Staff = append(st.Staff, StaffState{x.ID, x.FullName, x.Email, x.StatusID})
	}
	for _, o := range s.operators {
		os := OperatorState{ID: o.ID, Name: o.Name, Email: o.Email, LastStatus: o.LastStatus,
			RealStatus: o.realStatus(now), LeaseUntil: o.LeaseUntil, Manual: o.Manual}
		if left := o.LeaseUntil.Sub(now); left > 0 {
			os.LeaseLeft = left.Seconds()
		}
		st.Operators = append(st.Operators, os)
	}
	for _, v := range s.chats.visitors {
		ch := v.Chats[len(v.Chats)-1]
		st.Chats = append(st.Chats, ChatState{v.ID, v.Name, ch.ID, ch.Stage, ch.Operators, len(ch.Events)})
	}
	return st
}

// Operator returns one operator's state, for tests.
func (s *Sandbox) Operator(id string) (OperatorState, bool) {
	for _, o := range s.State().Operators {
		if o.ID == id {
			return o, true
		}
	}
	return OperatorState{}, false
}

func (s *Sandbox) ctlState(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.State())
}
