package e2e

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startBoris runs a headless agent for Boris and waits until `omnitray
// status` shows it connected; it returns the agent and its environment.
func startBoris(t testing.TB, s *stack, args ...string) (*proc, []string) {
	t.Helper()
	env := with(s.env, "OMNITRAY_TOKEN="+s.token(staffBoris))
	agent := startProc(t, env, omnitrayBin, append([]string{"run", "--headless", "--hub", s.hubURL}, args...)...)
	waitFor(t, "the agent connected", func() bool {
		if agent.exited() {
			t.Fatalf("the agent exited early (code %d)", agent.exitCode())
		}
		st, ok := readAgent(t, s.env)
		return ok && st.Connection == "connected"
	})
	return agent, env
}

// waitExit waits for p to end and returns its exit code.
func waitExit(t testing.TB, p *proc, why string) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(guard):
		t.Fatalf("the agent did not stop after %s; stderr:\n%s", why, p.stderr.String())
	}
	return p.exitCode()
}

// TestLogoutSignsOutTheRunningAgent: `omnitray logout` reaches the running
// agent (here a headless one): it disconnects from the hub with 1001, says
// so, and stops; logout tells the user what happened and that the token
// came from OMNITRAY_TOKEN. The test machine has no keyring, which logout
// reports without failing, since the agent is signed out.
func TestLogoutSignsOutTheRunningAgent(t *testing.T) {
	s := startStack(t)
	agent, _ := startBoris(t, s)
	r := runProc(t, s.env, omnitrayBin, "logout")
	if r.code != 0 || !strings.Contains(r.stdout, "signed out and stopped") || !strings.Contains(r.stdout, "OMNITRAY_TOKEN") {
		t.Fatalf("logout: code %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if code := waitExit(t, agent, "logout"); code != 0 {
		t.Fatalf("the agent exited %d after logout", code)
	}
	logs := agent.stderr.String()
	for _, want := range []string{"agent started", "signed out by 'omnitray logout'", "agent stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("agent log lacks %q:\n%s", want, logs)
		}
	}
	waitFor(t, "the hub to log the agent's goodbye (1001)", func() bool {
		return strings.Contains(s.hub.stderr.String(), "1001")
	})
	if r := runProc(t, s.env, omnitrayBin, "status"); r.code == 0 {
		t.Fatalf("an agent still answers after logout:\n%s", r.stdout)
	}
}

// TestHeadlessStartAndStopLines: a headless agent says when it starts and,
// on SIGTERM, says goodbye to the hub (1001) and logs its exit line.
func TestHeadlessStartAndStopLines(t *testing.T) {
	s := startStack(t)
	agent, _ := startBoris(t, s)
	if err := agent.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, agent, "SIGTERM"); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	logs := agent.stderr.String()
	if !strings.Contains(logs, "agent started") || !strings.Contains(logs, "agent stopped") {
		t.Fatalf("agent log lacks its start or stop line:\n%s", logs)
	}
	waitFor(t, "the hub to log the agent's goodbye (1001)", func() bool {
		return strings.Contains(s.hub.stderr.String(), "1001")
	})
}

// TestNoOfflineWriteWhenChaportIsAlreadyOffline: Boris is Offline in
// Omnidesk and his operator is offline in Chaport. Once the hub has read
// the operator list, an agent starting for him counts nothing down and
// writes nothing, even after the grace.
func TestNoOfflineWriteWhenChaportIsAlreadyOffline(t *testing.T) {
	s := startStack(t)
	waitFor(t, "the hub to read Chaport's operator list", s.operatorsRead)
	seq := s.lastSeq()
	agent, _ := startBoris(t, s, "--grace", "1s", "--lease", "3s")
	r := runProc(t, s.env, omnitrayBin, "status", "--json")
	var st struct {
		Reason    string    `json:"reason"`
		OfflineAt time.Time `json:"offline_at"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || !strings.Contains(st.Reason, "Chaport already offline") || !st.OfflineAt.IsZero() {
		t.Fatalf("status: %s (%v)", r.stdout, err)
	}
	time.Sleep(3 * time.Second) // well past the 1 s grace
	if ws := s.writes(opBoris, seq); len(ws) != 0 {
		t.Fatalf("wrote %+v though Chaport already showed offline; agent log:\n%s", ws, agent.stderr.String())
	}
	if strings.Contains(agent.stderr.String(), "offline in") {
		t.Fatalf("the agent announced a countdown:\n%s", agent.stderr.String())
	}
}
