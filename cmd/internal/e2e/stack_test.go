package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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

const hubConfig = `{"min_poll_interval":"1s","chat_access":{"130001":true},"chats":{"poll_interval":"1s"}}`

// with returns a copy of env with more variables, so that tests can derive
// several process environments from one base without aliasing.
func with(env []string, kv ...string) []string {
	return append(append([]string{}, env...), kv...)
}

// stack is a sandbox and a hub running as processes for one test.
type stack struct {
	t                          testing.TB
	env                        []string // the test's clean base environment
	chaportURL, omnideskURL    string
	controlURL, hubURL, secret string
	sandbox, hub               *proc
	hubEnv                     []string
	// hubConfig replaces the default hub.json; hubWrap runs the hub under
	// another command (e.g. prlimit), when set before startHub.
	hubConfig string
	hubWrap   []string
	// sandboxArgs are more flags for `omnitray sandbox` (e.g. --add-staff),
	// when set before startSandbox.
	sandboxArgs []string
	// hubBase is every hub process's environment but its listen address:
	// the vendors, their credentials, the secret and the config file.
	hubBase []string
}

func startStack(t testing.TB) *stack {
	t.Helper()
	return startStackWith(t, func(*stack) {})
}

// startStackWith is startStack with the hub's setup (hubConfig, hubWrap)
// changed first.
func startStackWith(t testing.TB, edit func(*stack)) *stack {
	t.Helper()
	needBinaries(t)
	s := &stack{t: t, env: procEnv(t), hubConfig: hubConfig}
	edit(s)
	s.startSandbox()
	s.startHub()
	return s
}

func (s *stack) startSandbox() {
	t := s.t
	ready := filepath.Join(t.TempDir(), "ready.json")
	s.sandbox = startProc(t, s.env, omnitrayBin, append([]string{"sandbox",
		"--chaport-listen", "127.0.0.1:0", "--omnidesk-listen", "127.0.0.1:0",
		"--control-listen", "127.0.0.1:0", "--omnidesk-budget", "240", "--ready-file", ready}, s.sandboxArgs...)...)
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
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// prepareHub picks the hub secret and writes the hub config, which every
// hub process of the stack (a restarted one, a cluster's replicas) shares.
func (s *stack) prepareHub() {
	t := s.t
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s.secret = hex.EncodeToString(raw)
	cfg := filepath.Join(t.TempDir(), "hub.json")
	if err := os.WriteFile(cfg, []byte(s.hubConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s.hubBase = with(s.env, "OMNIDESK_URL="+s.omnideskURL, "OMNIDESK_EMAIL=api@acme.test",
		"OMNIDESK_API_KEY=sandbox-omnidesk-key", "CHAPORT_URL="+s.chaportURL,
		"CHAPORT_TOKEN=sandbox-chaport-token", "OMNITRAY_HUB_SECRET="+s.secret,
		"OMNITRAY_HUB_CONFIG="+cfg)
}

func (s *stack) startHub() {
	t := s.t
	s.prepareHub()
	for attempt := 1; ; attempt++ {
		addr := freePort(t)
		s.hubEnv = with(s.hubBase, "OMNITRAY_HUB_LISTEN="+addr)
		s.runHub()
		s.hubURL = "http://" + addr
		if s.waitHubReady() {
			return
		}
		if attempt == 3 || !strings.Contains(s.hub.stderr.String(), "address already in use") {
			t.Fatalf("the hub exited early (code %d): %s", s.hub.exitCode(), s.hub.stderr.String())
		}
	}
}

// runHub starts the hub process with the stack's environment (address,
// config, state directory), as a restart does.
func (s *stack) runHub() {
	if len(s.hubWrap) == 0 {
		s.hub = startProc(s.t, s.hubEnv, hubBin, "serve")
		return
	}
	args := append(append(append([]string{}, s.hubWrap[1:]...), hubBin), "serve")
	s.hub = startProc(s.t, s.hubEnv, s.hubWrap[0], args...)
}

// stateDir is where the hub keeps its state in this stack's environment
// (the default: the user config directory's omnitray-hub).
func (s *stack) stateDir() string {
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "XDG_CONFIG_HOME="); ok {
			return filepath.Join(v, "omnitray-hub")
		}
	}
	s.t.Fatal("no XDG_CONFIG_HOME in the stack's environment")
	return ""
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
		return resp.StatusCode == http.StatusOK && s.operatorsRead()
	})
	return !exited
}

// operatorsRead reports whether a hub has read Chaport's operator list.
func (s *stack) operatorsRead() bool {
	for _, c := range s.calls("chaport", 0) {
		if c.Method == "GET" && c.Path == "/api/v1/operators" && c.Status == 200 {
			return true
		}
	}
	return false
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
