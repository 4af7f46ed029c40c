package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Seed data of the sandbox (sync/sandbox/state.go), as a tester knows it
// from the control page rather than from the package.
const (
	staffAnna, staffBoris, staffChen int64 = 201, 202, 203
	opAnna                                 = "5f1a2b3c4d5e6f7081920a01"
	opBoris                                = "5f1a2b3c4d5e6f7081920a02"

	statusOnline, statusOffline, statusWithoutChats, statusChatDuty int64 = 1, 2, 3, 130001
)

// pollInterval is what the hub config below buys: with a 240/min sandbox
// budget the hub's 25 % share allows a poll every 250 ms, and
// min_poll_interval raises that to 1 s.
const pollInterval = time.Second

const hubConfig = `{"min_poll_interval":"1s","chat_access":{"130001":true}}`

var httpc = &http.Client{Timeout: 5 * time.Second}

// with returns a copy of env with more variables, so that tests can derive
// several process environments from one base without aliasing.
func with(env []string, kv ...string) []string {
	return append(append([]string{}, env...), kv...)
}

// stack is a sandbox and a hub running as processes for one test.
type stack struct {
	t                           *testing.T
	env                         []string // the test's clean base environment
	chaportURL, omnideskURL     string
	controlURL, hubURL, secret  string
	sandbox, hub                *proc
	hubEnv                      []string
}

func startStack(t *testing.T) *stack {
	t.Helper()
	needBinaries(t)
	s := &stack{t: t, env: procEnv(t)}
	s.startSandbox()
	s.startHub()
	return s
}

func (s *stack) startSandbox() {
	t := s.t
	ready := filepath.Join(t.TempDir(), "ready.json")
	s.sandbox = startProc(t, s.env, omnitrayBin, "sandbox",
		"--chaport-listen", "127.0.0.1:0", "--omnidesk-listen", "127.0.0.1:0",
		"--control-listen", "127.0.0.1:0", "--omnidesk-budget", "240", "--ready-file", ready)
	var urls struct{ Chaport, Omnidesk, Control string }
	waitFor(t, "the sandbox's ready file", func() bool {
		if s.sandbox.exited() {
			t.Fatalf("the sandbox exited early: %s", s.sandbox.stderr.String())
		}
		b, err := os.ReadFile(ready)
		// The file is written non-atomically; a partial read fails to parse.
		return err == nil && json.Unmarshal(b, &urls) == nil && urls.Control != ""
	})
	s.chaportURL, s.omnideskURL, s.controlURL = urls.Chaport, urls.Omnidesk, urls.Control
}

// freePort finds a loopback port for the hub, which (unlike the sandbox) has
// no ready file. Another process may take the port in between; startHub then
// retries with a new one.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func (s *stack) startHub() {
	t := s.t
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s.secret = hex.EncodeToString(raw)
	cfg := filepath.Join(t.TempDir(), "hub.json")
	if err := os.WriteFile(cfg, []byte(hubConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		addr := freePort(t)
		s.hubEnv = with(s.env, "OMNIDESK_URL="+s.omnideskURL, "OMNIDESK_EMAIL=api@acme.test",
			"OMNIDESK_API_KEY=sandbox-omnidesk-key", "CHAPORT_URL="+s.chaportURL,
			"CHAPORT_TOKEN=sandbox-chaport-token", "OMNITRAY_HUB_SECRET="+s.secret,
			"OMNITRAY_HUB_LISTEN="+addr, "OMNITRAY_HUB_CONFIG="+cfg)
		s.hub = startProc(t, s.hubEnv, hubBin, "serve")
		s.hubURL = "http://" + addr
		if s.waitHubReady() {
			return
		}
		if attempt == 3 || !strings.Contains(s.hub.stderr.String(), "address already in use") {
			t.Fatalf("the hub exited early (code %d): %s", s.hub.exitCode(), s.hub.stderr.String())
		}
	}
}

// waitHubReady waits for /healthz (a first Omnidesk poll) and for the hub's
// first Chaport operator list, which it needs to link staff to operators by
// e-mail. It returns false if the hub process exited instead.
func (s *stack) waitHubReady() bool {
	exited := false
	waitFor(s.t, "hub /healthz == 200 and the operator list read", func() bool {
		if s.hub.exited() {
			exited = true
			return true
		}
		resp, err := httpc.Get(s.hubURL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
		for _, c := range s.calls("chaport", 0) {
			if c.Method == "GET" && c.Path == "/api/v1/operators" && c.Status == 200 {
				return true
			}
		}
		return false
	})
	return !exited
}

// token asks `omnitray-hub token` for an agent token, as an admin would.
func (s *stack) token(staff int64) string {
	s.t.Helper()
	r := runProc(s.t, with(s.env, "OMNITRAY_HUB_SECRET="+s.secret), hubBin, "token",
		"--staff", strconv.FormatInt(staff, 10))
	tok := strings.TrimSpace(r.stdout)
	if r.code != 0 || tok == "" || strings.ContainsAny(tok, " \n") {
		s.t.Fatalf("omnitray-hub token: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	return tok
}

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

// call is one entry of the sandbox's call log.
type call struct {
	Seq     int       `json:"seq"`
	At      time.Time `json:"at"`
	Service string    `json:"service"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Body    string    `json:"body"`
	Status  int       `json:"status"`
}

func (s *stack) calls(service string, since int) []call {
	s.t.Helper()
	var out []call
	s.control("GET", fmt.Sprintf("/_sandbox/calls?service=%s&since=%d", service, since), nil, &out)
	return out
}

// lastSeq is the newest call's sequence number, to look only at later calls.
func (s *stack) lastSeq() int {
	s.t.Helper()
	var st struct {
		Calls int `json:"calls"`
	}
	s.control("GET", "/_sandbox/state", nil, &st)
	return st.Calls
}

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

// operatorState is one operator as GET /_sandbox/state shows it.
type operatorState struct {
	ID         string    `json:"id"`
	LastStatus string    `json:"last_status"`
	RealStatus string    `json:"real_status"`
	LeaseUntil time.Time `json:"lease_until"`
}

func (s *stack) operator(id string) operatorState {
	s.t.Helper()
	var st struct {
		Operators []operatorState `json:"operators"`
	}
	s.control("GET", "/_sandbox/state", nil, &st)
	for _, o := range st.Operators {
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
	var st struct {
		Staff []struct {
			ID       int64 `json:"id"`
			StatusID int64 `json:"status_id"`
		} `json:"staff"`
	}
	s.control("GET", "/_sandbox/state", nil, &st)
	for _, x := range st.Staff {
		if x.ID == id {
			return x.StatusID
		}
	}
	s.t.Fatalf("staff %d is not in the sandbox state", id)
	return 0
}
