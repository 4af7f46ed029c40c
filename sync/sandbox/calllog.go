package sandbox

import (
	"encoding/json"
	"net/http"
	"time"
)

// Call is one request an API fake received, as the call log keeps it.
type Call struct {
	Seq     int       `json:"seq"`
	At      time.Time `json:"at"`
	Service string    `json:"service"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Query   string    `json:"query,omitempty"`
	Body    string    `json:"body,omitempty"`
	// Status is the HTTP status the client got; 0 for a reset connection.
	Status int `json:"status"`
	// Cost is what the call took from the Omnidesk budget (writes cost 2).
	Cost  int    `json:"cost,omitempty"`
	Fault string `json:"fault,omitempty"`
	// Remote is the client's address as the fake saw it (host:port), so
	// that a test running several clients can tell whose call it was.
	Remote string `json:"remote,omitempty"`
}

// maxCalls bounds the log so that a long demo cannot grow without limit.
const maxCalls = 20000

type callLog struct {
	seq   int
	calls []Call
}

func (s *Sandbox) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log.seq++
	c.Seq = s.log.seq
	if len(s.log.calls) >= maxCalls {
		s.log.calls = append(s.log.calls[:0], s.log.calls[len(s.log.calls)/2:]...)
	}
	s.log.calls = append(s.log.calls, c)
}

// Calls returns the logged calls with Seq > since, of one service or all ("").
func (s *Sandbox) Calls(service string, since int) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Call{}
	for _, c := range s.log.calls {
		if c.Seq > since && (service == "" || c.Service == service) {
			out = append(out, c)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
