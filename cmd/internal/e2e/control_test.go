package e2e

// Reading and driving the sandbox through its control port, as a tester at
// the control page would.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/omnitray/omnitray/sync/sandbox"
)

var httpc = &http.Client{Timeout: 5 * time.Second}

// control sends a JSON control to the sandbox and decodes the answer into out
// (if not nil), failing the test unless the sandbox answers 200.
func (s *stack) control(method, path string, body, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.controlURL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpc.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// setStaffStatus flips a staff member's Omnidesk status as a person in the
// Omnidesk UI would, and returns the moment the sandbox confirmed it.
func (s *stack) setStaffStatus(staff, status int64) time.Time {
	s.t.Helper()
	s.control("POST", fmt.Sprintf("/_sandbox/staff/%d/status", staff), map[string]int64{"status_id": status}, nil)
	return time.Now()
}

// call is one entry of the sandbox's call log, as /_sandbox/calls gives it.
type call = sandbox.Call

func (s *stack) calls(service string, since int) []call {
	s.t.Helper()
	var out []call
	s.control("GET", fmt.Sprintf("/_sandbox/calls?service=%s&since=%d", service, since), nil, &out)
	return out
}

// lastSeq is the newest call's sequence number, to look only at later calls.
func (s *stack) lastSeq() int { return s.state().Calls }

// write is one Chaport status write as the fake received it.
type write struct {
	call
	status string
	ttl    int
}

// writes lists the Chaport status writes for one operator after seq,
// including refused ones (the fake answers 400 to a malformed body).
func (s *stack) writes(operator string, since int) []write {
	s.t.Helper()
	var out []write
	for _, c := range s.calls("chaport", since) {
		if c.Method != "POST" || c.Path != "/api/v1/operators/"+operator+"/status" {
			continue
		}
		var body struct {
			Status string `json:"status"`
			TTL    int    `json:"ttl"`
		}
		if err := json.Unmarshal([]byte(c.Body), &body); err != nil {
			s.t.Fatalf("status write #%d has an unreadable body %q: %v", c.Seq, c.Body, err)
		}
		out = append(out, write{call: c, status: body.Status, ttl: body.TTL})
	}
	return out
}

// waitWrite waits for the first write of status for operator after seq.
func (s *stack) waitWrite(operator, status string, since int) write {
	s.t.Helper()
	var got write
	waitFor(s.t, fmt.Sprintf("a Chaport %q write for %s", status, operator), func() bool {
		for _, w := range s.writes(operator, since) {
			if w.status == status {
				got = w
				return true
			}
		}
		return false
	})
	return got
}

// sandboxState is the part of GET /_sandbox/state the tests read.
type sandboxState struct {
	Calls int `json:"calls"` // the newest call's seq
	Staff []struct {
		ID       int64 `json:"id"`
		StatusID int64 `json:"status_id"`
	} `json:"staff"`
	Operators []operatorState `json:"operators"`
}

type operatorState struct {
	ID         string    `json:"id"`
	RealStatus string    `json:"real_status"`
	LeaseUntil time.Time `json:"lease_until"`
}

func (s *stack) state() sandboxState {
	s.t.Helper()
	var st sandboxState
	s.control("GET", "/_sandbox/state", nil, &st)
	return st
}

func (s *stack) operator(id string) operatorState {
	s.t.Helper()
	for _, o := range s.state().Operators {
		if o.ID == id {
			return o
		}
	}
	s.t.Fatalf("operator %s is not in the sandbox state", id)
	return operatorState{}
}

// staffStatus is a staff member's Omnidesk status in the sandbox.
func (s *stack) staffStatus(id int64) int64 {
	s.t.Helper()
	for _, x := range s.state().Staff {
		if x.ID == id {
			return x.StatusID
		}
	}
	s.t.Fatalf("staff %d is not in the sandbox state", id)
	return 0
}
