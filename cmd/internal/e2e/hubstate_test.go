package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopHub sends SIGTERM, as systemd or Ctrl-C does, and waits for a clean exit.
func (s *stack) stopHub() {
	s.t.Helper()
	stopProc(s.t, s.hub)
}

// stopProc sends p SIGTERM and waits for a clean exit.
func stopProc(t testing.TB, p *proc) {
	t.Helper()
	p.signal(t, syscall.SIGTERM)
	waitClean(t, p)
}

// signal sends the process sig, failing the test if it cannot.
func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %s %v: %v", p.name, sig, err)
	}
}

// waitClean waits for p, told to stop, to exit with code 0.
func waitClean(t testing.TB, p *proc) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(guard):
		t.Fatalf("%s did not stop on SIGTERM; stderr:\n%s", p.name, p.stderr.String())
	}
	if code := p.exitCode(); code != 0 {
		t.Fatalf("%s exited %d on SIGTERM; stderr:\n%s", p.name, code, p.stderr.String())
	}
}

// noTempFiles fails if a half-written state file was left behind.
func noTempFiles(t testing.TB, dir string) {
	t.Helper()
	tmp, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(tmp) > 0 {
		t.Fatalf("temporary files left in %s: %v", dir, tmp)
	}
}

// A hub stopped with SIGTERM saves what it learned of the Omnidesk budget
// before it exits, and the next one says it restored it. (It used to exit
// before its own shutdown had saved anything, and left temp files behind.)
// A saved retry_after years ahead is obeyed only for max_retry_after: the
// hub says it is waiting, in its log and in /healthz, then polls.
func TestHubStateAcrossSIGTERM(t *testing.T) {
	s := startStackWith(t, func(s *stack) {
		s.hubConfig = `{"min_poll_interval":"1s","chats":{"poll_interval":"1s"},"limits":{"max_retry_after":"3s"}}`
	})
	dir := s.stateDir()
	budget := filepath.Join(dir, "omnidesk-budget.json")

	s.stopHub()
	fi, err := os.Stat(budget)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("budget file after SIGTERM: %v, %v; hub stderr:\n%s", fi, err, s.hub.stderr.String())
	}
	noTempFiles(t, dir)

	s.runHub()
	if !s.waitHubReady() {
		t.Fatalf("the hub did not come back: %s", s.hub.stderr.String())
	}
	if !strings.Contains(s.hub.stderr.String(), "budget restored") {
		t.Fatalf("the restarted hub did not say it restored the budget:\n%s", s.hub.stderr.String())
	}
	s.stopHub()
	noTempFiles(t, dir)

	// Now a budget file that asks the hub to wait five years.
	var st map[string]any
	raw, err := os.ReadFile(budget)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	st["saved_at"] = now.Format(time.RFC3339Nano)
	st["not_after"] = now.AddDate(5, 0, 0).Format(time.RFC3339Nano)
	raw, _ = json.Marshal(st)
	if err := os.WriteFile(budget, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s.runHub()
	waitFor(t, "the hub to say it waits on Omnidesk", func() bool {
		return strings.Contains(s.hub.stderr.String(), "waiting on Omnidesk's retry_after")
	})
	resp, err := httpc.Get(s.hubURL + "/healthz")
	if err == nil {
		var h map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && h["omnidesk_wait_until"] == nil {
			t.Errorf("/healthz answers 503 without saying the hub waits on Omnidesk: %v", h)
		}
	}
	// Clamped to 3 s: the hub polls and agents may connect.
	if !s.waitHubReady() {
		t.Fatalf("the hub exited: %s", s.hub.stderr.String())
	}
}
