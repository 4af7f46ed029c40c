package e2e

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Timings the agent runs with (--grace 2s --lease 3s); it renews at half
// the lease.
const (
	grace      = 2 * time.Second
	leaseTTL   = 3 * time.Second
	renewEvery = leaseTTL / 2
	// schedSlack is added to the one upper bound the issue states exactly
	// ("within one poll interval + 1 s"): the hub, the agent and the fakes
	// are separate processes on a shared CI machine, and a few hundred
	// milliseconds of scheduling delay there says nothing about the product.
	schedSlack = 500 * time.Millisecond
	// inFlight is how long after a SIGKILL a write that the agent had
	// already asked for may still reach Chaport through the hub.
	inFlight = 200 * time.Millisecond
)

// agentState is the part of `omnitray status --json` the tests read.
type agentState struct {
	Connection string `json:"connection"`
	// Hub is the replica the agent is connected to, of those --hub lists.
	Hub   string `json:"hub"`
	Staff struct {
		ID int64 `json:"id"`
	} `json:"staff"`
	Operator *struct {
		ID string `json:"id"`
	} `json:"operator"`
	StatusID int64  `json:"status_id"`
	Chaport  string `json:"chaport"`
	Reason   string `json:"reason"`
}

// readAgent asks the agent running in env for its state; false if none
// answers.
func readAgent(t testing.TB, env []string) (agentState, bool) {
	r := runProc(t, env, omnitrayBin, "status", "--json")
	var st agentState
	ok := r.code == 0 && json.Unmarshal([]byte(r.stdout), &st) == nil
	return st, ok
}

// TestLeaseFollowsOmnideskStatus runs sandbox, hub and one headless agent
// (for Boris) as processes and follows his Chaport lease through status
// flips made on the sandbox, then kills the agent and watches the lease
// lapse by itself.
func TestLeaseFollowsOmnideskStatus(t *testing.T) {
	s := startStack(t)
	token := s.token(staffBoris)
	agentEnv := with(s.env, "OMNITRAY_TOKEN="+token)
	agent := startProc(t, agentEnv, omnitrayBin, "run", "--headless", "--hub", s.hubURL,
		"--grace", "2s", "--lease", "3s")
	var outputs []result // of `omnitray status`, for the token check

	// The agent answers `omnitray status` over its socket once it runs; wait
	// until it has the hub's snapshot and knows its operator.
	waitFor(t, "`omnitray status --json` to show the agent connected as Boris", func() bool {
		if agent.exited() {
			t.Fatalf("the agent exited early (code %d)", agent.exitCode())
		}
		r := runProc(t, s.env, omnitrayBin, "status", "--json")
		outputs = append(outputs, r)
		var st agentState
		return r.code == 0 && json.Unmarshal([]byte(r.stdout), &st) == nil &&
			st.Connection == "connected" && st.Staff.ID == staffBoris &&
			st.Operator != nil && st.Operator.ID == opBoris && st.StatusID == statusOffline
	})
	// Token hygiene (the security model: README, Tokens and hub state): never a process argument.
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(agent.cmd.Process.Pid) + "/cmdline")
	switch {
	case err != nil:
		t.Logf("cannot check the agent's command line (not Linux?): %v", err)
	case strings.Contains(string(cmdline), token):
		t.Errorf("the token is in the agent's /proc/<pid>/cmdline")
	}

	// Boris starts Offline and his operator is offline in Chaport: the
	// agent writes nothing when the hub's snapshot said so, else offline
	// once the grace is over. Waiting for either keeps a write out of the
	// steps below.
	waitFor(t, "the agent to settle on offline", func() bool {
		st, ok := readAgent(t, s.env)
		return ok && st.Chaport == "offline"
	})

	t.Run("a: Online writes online within a poll interval + 1s", func(t *testing.T) {
		seq := s.lastSeq()
		flipped := s.setStaffStatus(staffBoris, statusOnline)
		w := s.waitWrite(opBoris, "online", seq)
		// Both times are wall clock on this machine: the sandbox's clock is
		// not moved in this test.
		took := w.At.Sub(flipped)
		t.Logf("online written %s after the flip", took.Round(time.Millisecond))
		if limit := pollInterval + time.Second + schedSlack; took > limit {
			t.Errorf("online written %s after the flip, want ≤ %s (poll + 1 s + %s slack)", took, limit, schedSlack)
		}
		if w.ttl != int(leaseTTL/time.Second) {
			t.Errorf("online write has ttl %d, want the --lease of %d s", w.ttl, int(leaseTTL/time.Second))
		}
	})

	t.Run("b: a custom status with chat access only renews", func(t *testing.T) {
		seq := s.lastSeq()
		flipped := s.setStaffStatus(staffBoris, statusChatDuty)
		window := 4 * time.Second
		sleepUntil(flipped.Add(window))
		online := 0
		for _, w := range s.writes(opBoris, seq) {
			if w.At.After(flipped.Add(window)) {
				break
			}
			if w.status != "online" {
				t.Errorf("write #%d %q at +%s while in a status with chat access", w.Seq, w.status, w.At.Sub(flipped))
			}
			online++
		}
		// Renewals come every half lease, so a 4 s window holds at most
		// floor(4 / 1.5) + 1 of them.
		if limit := int(window/renewEvery) + 1; online > limit {
			t.Errorf("%d online writes in %s, want ≤ %d (renewals every %s)", online, window, limit, renewEvery)
		}
	})

	t.Run("c: Without chats writes offline after the grace", func(t *testing.T) {
		seq := s.lastSeq()
		flipped := s.setStaffStatus(staffBoris, statusWithoutChats)
		w := s.waitWrite(opBoris, "offline", seq)
		after := w.At.Sub(flipped)
		t.Logf("offline written %s after the flip", after.Round(time.Millisecond))
		if after < grace {
			t.Errorf("offline written %s after the flip, before the %s grace", after, grace)
		}
		if after > 10*time.Second {
			t.Errorf("offline written %s after the flip, want within 10 s", after)
		}
		// Renewals stop once the agent sees no access: over one more renewal
		// period nothing online may follow the offline.
		sleepUntil(time.Now().Add(renewEvery + 100*time.Millisecond))
		for _, x := range s.writes(opBoris, w.Seq) {
			if x.status == "online" {
				t.Errorf("write #%d %q at +%s after the offline", x.Seq, x.status, x.At.Sub(w.At))
			}
		}
	})

	t.Run("d: a blip shorter than the grace writes no offline", func(t *testing.T) {
		seq := s.lastSeq()
		s.setStaffStatus(staffBoris, statusOnline)
		s.waitWrite(opBoris, "online", seq)
		seq = s.lastSeq()
		seen := strings.Count(agent.stderr.String(), "no chat access")
		s.setStaffStatus(staffBoris, statusWithoutChats)
		// A blip the 1 s poller never sees would prove nothing: hold it until
		// a staff poll has read it, then ~300 ms for the push to reach the
		// agent. It stays well inside the 2 s grace either way.
		waitFor(t, "a staff poll after the flip", func() bool {
			for _, c := range s.calls("omnidesk", seq) {
				if c.Method == "GET" && c.Path == "/api/staff.json" {
					return true
				}
			}
			return false
		})
		time.Sleep(300 * time.Millisecond) // the blip itself, not a wait for anything
		back := s.setStaffStatus(staffBoris, statusOnline)
		sleepUntil(back.Add(4 * time.Second))
		for _, w := range s.writes(opBoris, seq) {
			if w.status == "offline" {
				t.Errorf("offline written at +%s after coming back from a 300 ms blip", w.At.Sub(back))
			}
		}
		// Informative only: the log wording is not a contract.
		t.Logf("agent saw the blip: %v", strings.Count(agent.stderr.String(), "no chat access") > seen)
	})

	t.Run("e: a killed agent's lease lapses by itself", func(t *testing.T) {
		seq := s.lastSeq()
		if err := agent.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		if op := s.operator(opBoris); op.RealStatus != "online" {
			t.Errorf("right after the kill the operator is %q, want still online (lease until %s)",
				op.RealStatus, op.LeaseUntil)
		}
		<-agent.done
		waitFor(t, "the operator's lease to lapse to offline", func() bool {
			return s.operator(opBoris).RealStatus == "offline"
		})
		if op := s.operator(opBoris); op.LeaseUntil.After(killed.Add(leaseTTL + inFlight)) {
			t.Errorf("lease ran until +%s after the kill, want ≤ lease %s + %s in flight",
				op.LeaseUntil.Sub(killed), leaseTTL, inFlight)
		}
		sleepUntil(killed.Add(leaseTTL + time.Second))
		for _, w := range s.writes(opBoris, seq) {
			if !w.At.Before(killed.Add(inFlight)) {
				t.Errorf("write #%d %q at +%s after the agent was killed", w.Seq, w.status, w.At.Sub(killed))
			}
		}
	})

	// Token hygiene: the token may only ever be printed by `omnitray-hub
	// token` itself; no log line or status output of any process shows it.
	for _, p := range []*proc{s.sandbox, s.hub, agent} {
		if strings.Contains(p.stderr.String(), token) || strings.Contains(p.stdout.String(), token) {
			t.Errorf("the token appears in the output of %s", p.name)
		}
	}
	for _, r := range outputs {
		if strings.Contains(r.stdout+r.stderr, token) {
			t.Errorf("the token appears in the output of omnitray status")
		}
	}
}
