package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/cmd/internal/sandboxlog"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// The set-up of both phases. The timings are the agent's and hub's own
// knobs, shortened so that a few minutes hold many leases and transitions.
const (
	employees       = 100 // the 3 seed employees and 97 added ones: one staff page
	budgetPerMinute = 240 // the sandbox account's Omnidesk budget
	budgetShare     = 0.25
	allowance       = int(budgetShare * budgetPerMinute) // the hub's units a minute
	pollInterval    = time.Second
	grace           = 2 * time.Second
	leaseTTL        = 4 * time.Second
	minBackoff      = 100 * time.Millisecond
	maxBackoff      = 2 * time.Second
	faultRate       = 0.3
	retryAfter      = 2 // seconds, in the injected 429s
	// restartDowntime is how long the hub's port is closed on a restart, as
	// a process being replaced would leave it.
	restartDowntime = time.Second
	// flipEvery is the mean pause between two status flips of the driver.
	flipEvery = 300 * time.Millisecond
	// settleLimit bounds the wait for convergence after the faults stop. The
	// expected settle is poll + grace + lease + backoff (about 9 s); the rest
	// covers a hub that restarted into failing calls and waits out 429s'
	// retry_after (it keeps the learned budget through its budget file, so
	// it no longer falls back to the smallest plan's 12 s spacing).
	settleLimit = 45 * time.Second
	// hold is how long the converged state must then last: a full lease, so
	// that an online lease nobody renews would lapse inside it.
	hold = leaseTTL + time.Second
	// setupLimit bounds the fault-free set-up: hub ready, agents connected.
	setupLimit = 60 * time.Second
	// stallSlack is what the checks allow for a scheduling stall: on a
	// loaded shared machine a timer was seen firing 2–3 s late.
	stallSlack = 3 * time.Second
	// shareSlack allows for the 0–2 s latency the fakes add before they log
	// a call: a 60 s window of arrival times spans up to 62 s of the
	// pacer's admission times, at most one unit a second more.
	shareSlack = 3
)

var hubSecret = []byte("chaos-secret-0123456789abcdef0123")

// hubFile is the hub's config: polls as often as every second, a quarter of
// the budget, the seed's custom chat status with access, no chat watcher.
var hubFile = fmt.Sprintf(`{"min_poll_interval": %q, "budget_share": %v,
	"chat_access": {"%d": true}, "chats": {"enabled": false}}`, pollInterval, budgetShare, sandbox.StatusChatDuty)

// flipStatuses are the statuses the driver moves staff between: two with chat
// access (Online, the custom "chat duty") and three without (Offline,
// Without chats, the custom "Lunch").
var flipStatuses = []int64{sandbox.StatusOnline, sandbox.StatusChatDuty,
	sandbox.StatusOffline, sandbox.StatusWithoutChats, sandbox.StatusLunch}

func hasAccess(id int64) bool {
	return id == sandbox.StatusOnline || id == sandbox.StatusChatDuty
}

func wantChaport(statusID int64) string {
	if hasAccess(statusID) {
		return "online"
	}
	return "offline"
}

// TestChaos runs the fault-free baseline and then the chaos phase, each for
// CHAOS_DURATION (default 8s; `make chaos` sets 5m), and compares them; it
// does so for each topology, as a subtest: one hub alone, then three hub
// replicas of a cluster (topologies). Both phases make the same status
// flips at the same points of their runs (one seed for all, CHAOS_SEED to
// repeat a run). Each phase sets up fault-free (a new sandbox, the hubs
// ready, all 100 agents connected), then runs: faults on (chaos phase), a
// driver flipping a random staff member's status every flipEvery on
// average, and a hub restarted at 1/3 and 2/3 of the run on the same
// address (chaos phase; see hubRunner.restart for which replica; each
// restart waits until the hubs have served for minServing, so in a short
// run the second may not fit, which is logged). Then the faults and the
// driver stop and the state must settle.
//
// What it asserts, per phase, once the driver has stopped and the faults are
// off (within settleLimit; under faults the state must then hold for a
// lease, see settle):
//
//   - final state: every agent is connected and shows its staff member's
//     current Omnidesk status and linked operator, and every operator's
//     real Chaport status is online if that status gives chat access, else
//     offline;
//   - no final transition lost: if the final status has chat access,
//     Chaport got a successful online write for the operator after the
//     staff member's last flip; if it has none, the operator's last
//     successful write is an offline, or an online whose lease has run out
//     (an agent whose online write went through but whose answer was lost
//     in a hub restart still believes it is offline and writes no offline:
//     the lease then lapses on its own, which the product promises instead
//     of an offline write). Both ways are counted;
//   - no intermediate transition lost: the hub samples Omnidesk, so a flip
//     undone before the next poll may rightly never be seen; but counted
//     from the first poll Omnidesk answered after the flip (or the end of a
//     hub outage), a run of chat access lasting accessJudge must see an
//     online write (under faults: at least an attempt), and a run without
//     lasting offlineJudge must not end with the operator online (see
//     checkRuns);
//   - the sandbox's call log has no gaps and no agent stopped.
//
// Over the chaos phase as a whole: Chaport status writes (every POST
// /operators/{id}/status that the fake logged during the run window,
// whatever its outcome — injected 500s, 429s and resets count; a request
// its client gave up on during the injected latency is never logged) are at
// most twice the baseline's; per calendar minute of the sandbox clock, the
// Omnidesk units charged (Call.Cost) and the units attempted (GET 1, writes
// 2, injected faults included) stay within the account's budget; no 429
// (or legacy 403) comes from the budget itself, only injected ones; and
// each hub instance's attempts in any 60 s stay within its share — for a
// cluster, the whole cluster's attempts over the whole phase, since the
// replicas share the account's credentials and its share.
//
// Lease lapses (an online operator's lease running out while its staff
// kept chat access) are counted by cause (see reportLapses). A hub alone
// cannot avoid them on a restart; a cluster must: an agent a replica's
// stop cut off must renew through another replica before its lease runs
// out, unless the injected faults failed it or the process stalled.
func TestChaos(t *testing.T) {
	d := 8 * time.Second
	if v := os.Getenv("CHAOS_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < 3*time.Second {
			t.Fatalf("CHAOS_DURATION=%q: want a duration of at least 3s", v)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("CHAOS_SEED=%q: %v", v, err)
		}
	}
	t.Logf("chaos: %d agents, %v per phase, faults %.0f %% with latency 0–%d ms, seed %d (CHAOS_SEED=%d repeats the flips and faults)",
		employees, d, faultRate*100, latencyMaxMS(d), seed, seed)
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) { runTopology(t, topo, d, seed) })
	}
}

// topology is what the agents connect to: one hub, or the replicas of a
// cluster (each a hub with its own embedded NATS server, all in this
// process, each on its own HTTP port; the agents list all of them).
type topology struct {
	name     string
	replicas int // 1: a hub alone, without a cluster
}

// topologies are the ones TestChaos runs, each as a subtest of its own
// (-run 'TestChaos/one' picks one).
var topologies = []topology{{"one hub", 1}, {"three replicas", 3}}

// runTopology runs the baseline and chaos phases against one topology and
// compares their Chaport writes.
func runTopology(t *testing.T, topo topology, d time.Duration, seed uint64) {
	base := runPhase(t, phaseConfig{name: "baseline", topo: topo, duration: d, seed: seed})
	if t.Failed() {
		t.Fatal("the fault-free baseline failed; the chaos phase would prove nothing")
	}
	chaos := runPhase(t, phaseConfig{name: "chaos", topo: topo, duration: d, seed: seed, faults: true, restarts: 2})

	ratio := float64(chaos.writes) / float64(max(base.writes, 1))
	t.Logf("%s: Chaport status writes in %v: baseline %d (%d ok), chaos %d (%d ok, %d failed by injection) — %.2f×",
		topo.name, d, base.writes, base.writesOK, chaos.writes, chaos.writesOK, chaos.writesInjected, ratio)
	t.Logf("%s: lease lapses in the chaos phase: %d, of them %d caused by the restarts (%d in a stall)",
		topo.name, chaos.lapses.all, chaos.lapses.restart, chaos.lapses.stalled)
	if base.writes == 0 {
		t.Errorf("the baseline made no Chaport writes")
	}
	if chaos.writes > 2*base.writes {
		t.Errorf("chaos made %d Chaport status writes, more than twice the baseline's %d", chaos.writes, base.writes)
	}
}

// latencyMaxMS is the injected latency's upper bound: 2 s, as the issue
// asks, but 0.5 s in runs shorter than a minute. With 2 s a hub restarted
// into faults needs 2–3 s before its first staff poll is through (a
// catalogue read, a second of pacing, the poll), so an 8 s run with two
// restarts would spend most of its time with no hub at all and test little
// beyond the restarts themselves.
func latencyMaxMS(d time.Duration) int {
	if d < time.Minute {
		return 500
	}
	return 2000
}

type phaseConfig struct {
	name     string
	topo     topology
	duration time.Duration
	seed     uint64
	faults   bool
	restarts int
}

// hold is how long the converged state must last. The baseline only has to
// converge: it checks the test itself, and its writes are what counts.
func (c phaseConfig) hold() time.Duration {
	if c.faults {
		return hold
	}
	return 0
}

type phaseResult struct {
	writes, writesOK, writesInjected int
	lapses                           lapseCount // of the run window
}

// employee is one staff member, their operator and their agent.
type employee struct {
	staffID int64
	opID    string
	agent   *agent.Agent
	logs    *agentLog
	runErr  atomic.Pointer[error]
}

// runPhase runs one phase on a fresh sandbox, hub and agents; it reports
// failures on t and returns the figures compared across phases.
func runPhase(t *testing.T, cfg phaseConfig) phaseResult {
	t.Logf("── %s: %s phase ──", cfg.topo.name, cfg.name)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: budgetPerMinute},
		Seed: cfg.seed})
	defer sb.Close()
	sb.AddStaff(employees - 3)
	calls := newCallLog(sb)

	// The roster: staff and operators share e-mails, which is how the hub
	// links them.
	st := sb.State()
	opByEmail := map[string]string{}
	for _, o := range st.Operators {
		opByEmail[strings.ToLower(o.Email)] = o.ID
	}
	if len(st.Staff) != employees {
		t.Fatalf("the sandbox has %d staff, want %d", len(st.Staff), employees)
	}
	rng := rand.New(rand.NewPCG(cfg.seed, 0x5eed))
	emps := make([]*employee, 0, employees)
	status := map[int64]int64{} // the driver's view of every staff status
	initial := map[int64]int64{}
	for _, s := range st.Staff {
		op, ok := opByEmail[strings.ToLower(s.Email)]
		if !ok {
			t.Fatalf("staff %d (%s) has no operator", s.ID, s.Email)
		}
		emps = append(emps, &employee{staffID: s.ID, opID: op, logs: &agentLog{}})
		// Start from a mix, not everyone offline.
		status[s.ID] = flipStatuses[rng.IntN(len(flipStatuses))]
		initial[s.ID] = status[s.ID]
		if err := sb.SetStaffStatus(s.ID, status[s.ID]); err != nil {
			t.Fatal(err)
		}
	}

	// The call log is read often enough that the sandbox's bounded log never
	// drops an entry before it is copied.
	var bg sync.WaitGroup
	bg.Go(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				calls.Pull()
			}
		}
	})

	stalls := &stallWatch{}
	bg.Go(func() { stalls.run(ctx) })

	// Set-up, fault-free in both phases: the hubs, then the agents, until all
	// are connected. The hubs' restarts in the run test a start into faults.
	setupStart := time.Now()
	hubs := newHubRunner(t, sb, cfg.topo.replicas)
	if err := hubs.startAll(); err != nil {
		t.Fatal(err)
	}
	defer hubs.stop()

	setupEnd := time.After(time.Until(setupStart.Add(setupLimit)))
	for _, n := range hubs.nodes {
		select {
		case <-n.life().readyDone:
		case <-setupEnd:
			t.Fatalf("%s: %s was not ready %v after it started", cfg.name, n.name, setupLimit)
		}
	}

	// The agents, as a library, one process.
	agentCtx, stopAgents := context.WithCancel(ctx)
	var agentsDone sync.WaitGroup
	for i, e := range emps {
		tok, err := hub.Sign(hubSecret, e.staffID, time.Now(), 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(agent.Config{HubURL: hubs.urls(i), Token: tok, Grace: grace,
			Lease: leaseTTL, Logger: slog.New(e.logs),
			Feed: feed.ClientOptions{MinBackoff: minBackoff, MaxBackoff: maxBackoff}})
		if err != nil {
			t.Fatal(err)
		}
		e.agent = a
		agentsDone.Go(func() {
			err := a.Run(agentCtx)
			if err == nil && agentCtx.Err() == nil {
				err = errors.New("Run returned nil before the end")
			}
			if err != nil {
				e.runErr.Store(&err)
			}
		})
	}
	defer func() {
		stopAgents()
		agentsDone.Wait()
	}()

	for connected := 0; connected < len(emps); {
		if time.Since(setupStart) > setupLimit {
			t.Fatalf("%s: only %d of %d agents connected %v after the hub started", cfg.name, connected, len(emps), setupLimit)
		}
		time.Sleep(50 * time.Millisecond)
		connected = 0
		for _, e := range emps {
			if e.agent.State().Connection == agent.Connected {
				connected++
			}
		}
	}
	t.Logf("%s: set-up: %s ready and %d agents connected in %v", cfg.name, cfg.topo.name, len(emps),
		time.Since(setupStart).Round(time.Millisecond))

	// The run window: faults on, the driver flips statuses, the hub restarts
	// at even intervals.
	if cfg.faults {
		faults := sandbox.Faults{Rate: faultRate,
			Kinds:        []string{sandbox.FaultServerError, sandbox.FaultRateLimit, sandbox.FaultReset},
			LatencyMinMS: 0, LatencyMaxMS: latencyMaxMS(cfg.duration), RetryAfterSeconds: retryAfter}
		for _, svc := range []string{"chaport", "omnidesk"} {
			if err := sb.SetFaults(svc, faults); err != nil {
				t.Fatal(err)
			}
		}
	}
	runStart := time.Now()
	runCtx, endRun := context.WithTimeout(ctx, cfg.duration)
	defer endRun()
	type driven struct {
		flips []flip
		late  time.Duration
	}
	flipsDone := make(chan driven, 1)
	go func() {
		f, late := driveFlips(runCtx, t, sb, rng, emps, status, runStart)
		flipsDone <- driven{f, late}
	}()
	// connectedTo names the staff whose agents a hub holds, so that lapses
	// can be told apart by whether a restart cut their agent off.
	connectedTo := func(addr string) map[int64]bool {
		out := map[int64]bool{}
		for _, e := range emps {
			if st := e.agent.State(); st.Connection == agent.Connected && st.Hub == "http://"+addr {
				out[e.staffID] = true
			}
		}
		return out
	}
	restarts := 0
	for i := 1; i <= cfg.restarts && runCtx.Err() == nil; i++ {
		at := runStart.Add(cfg.duration * time.Duration(i) / time.Duration(cfg.restarts+1))
		if hubs.waitServing(runCtx, at) {
			hubs.restart(i, connectedTo)
			restarts++
		}
	}
	<-runCtx.Done()
	if restarts < cfg.restarts {
		t.Logf("%s: only %d of %d hub restarts fitted in the run (a hub was slow to become ready)", cfg.name, restarts, cfg.restarts)
	}
	runEnd := time.Now()
	if cfg.faults {
		for _, svc := range []string{"chaport", "omnidesk"} {
			if err := sb.SetFaults(svc, sandbox.Faults{}); err != nil {
				t.Error(err)
			}
		}
	}
	drv := <-flipsDone // the driver stops with runCtx
	flips := drv.flips
	t.Logf("%s: the driver made %d flips, the latest %v after its time", cfg.name, len(flips), drv.late.Round(time.Millisecond))
	lastFlip := map[int64]time.Time{}
	for _, f := range flips {
		lastFlip[f.staffID] = f.at
	}

	// Settle: wait for the state to converge, then hold it (see settle).
	convergedAt, outcome := settle(t, cfg, sb, calls, emps, status, lastFlip, runStart, runEnd)
	settleEnd := time.Now()
	stopAgents()
	agentsDone.Wait()
	hubs.stop()
	cancel()
	bg.Wait()
	calls.Pull()

	// The figures.
	res := report(t, cfg, calls, hubs, emps, flips, runStart, runEnd, settleEnd)
	checkRuns(t, cfg, calls, hubs, emps, initial, flips, runStart)
	reportFailover(t, cfg, hubs, emps)
	res.lapses = reportLapses(t, cfg, calls, hubs, stalls, emps, initial, flips, runStart, runEnd)
	if !convergedAt.IsZero() {
		t.Logf("%s: settled %v after the run (faults off, driver stopped), held %v; final transitions: %d online written, %d offline written, %d online lapsed, %d offline already",
			cfg.name, convergedAt.Sub(runEnd).Round(time.Millisecond), cfg.hold(),
			outcome.onlineWritten, outcome.offlineWritten, outcome.lapsed, outcome.alreadyOffline)
	}
	for _, e := range outcome.lapsedOps {
		t.Logf("%s: staff %d ended without chat access and its online lapsed instead of an offline write; agent: chaport %q, lease until %s; operator %s's last writes: %s",
			cfg.name, e.staffID, e.agent.State().Chaport, e.agent.State().LeaseExpires.Format("15:04:05.000"), e.opID,
			strings.Join(calls.history(e.opID, 6), "; "))
	}
	if calls.Gap() {
		t.Errorf("%s: the call log lost entries (the sandbox dropped them before they were read)", cfg.name)
	}
	for _, e := range emps {
		if p := e.runErr.Load(); p != nil {
			t.Errorf("%s: the agent of staff %d stopped: %v", cfg.name, e.staffID, *p)
		}
	}
	return res
}

type flip struct {
	staffID, statusID int64
	at                time.Time // just after the sandbox took it
}

// driveFlips flips a random staff member to a random other status every
// flipEvery on average, from start until ctx ends. Its random choices depend
// only on rng and each flip is due at a fixed offset from start, so both
// phases of one seed make the same flips at the same points of their runs.
func driveFlips(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, rng *rand.Rand, emps []*employee,
	status map[int64]int64, start time.Time) ([]flip, time.Duration) {
	var out []flip
	due := start
	var late time.Duration // the most a flip came after its time
	for {
		due = due.Add(flipEvery/2 + time.Duration(rng.Int64N(int64(flipEvery))))
		e := emps[rng.IntN(len(emps))]
		next := flipStatuses[rng.IntN(len(flipStatuses))]
		for next == status[e.staffID] {
			next = flipStatuses[rng.IntN(len(flipStatuses))]
		}
		select {
		case <-ctx.Done():
			return out, late
		case <-time.After(time.Until(due)):
		}
		if ctx.Err() != nil {
			return out, late
		}
		late = max(late, time.Since(due))
		if err := sb.SetStaffStatus(e.staffID, next); err != nil {
			t.Errorf("flipping staff %d: %v", e.staffID, err)
			return out, late
		}
		status[e.staffID] = next
		out = append(out, flip{e.staffID, next, time.Now()})
	}
}

// convergence is one look at the whole company.
type convergence struct {
	problems                              []string
	onlineWritten, offlineWritten, lapsed int
	lapsedOps                             []*employee
	// alreadyOffline counts operators never written because the hub's
	// snapshot showed them offline in Chaport already (no write needed).
	alreadyOffline int
}

// check compares every employee's agent and operator with what their final
// Omnidesk status calls for (see TestChaos).
func check(sb *sandbox.Sandbox, calls *callLog, emps []*employee, status map[int64]int64,
	lastFlip map[int64]time.Time, runStart, now time.Time) convergence {
	calls.Pull()
	st := sb.State()
	staffStatus := map[int64]int64{}
	for _, s := range st.Staff {
		staffStatus[s.ID] = s.StatusID
	}
	ops := map[string]sandbox.OperatorState{}
	for _, o := range st.Operators {
		ops[o.ID] = o
	}
	lastOK, lastOnline := calls.lastWrites()
	var c convergence
	for _, e := range emps {
		want := staffStatus[e.staffID]
		if want != status[e.staffID] {
			c.problems = append(c.problems, fmt.Sprintf("staff %d: sandbox says status %d, the driver set %d", e.staffID, want, status[e.staffID]))
		}
		as := e.agent.State()
		if as.Connection != agent.Connected {
			c.problems = append(c.problems, fmt.Sprintf("staff %d: agent %s (%s)", e.staffID, as.Connection, as.ConnError))
			continue
		}
		if as.StatusID != want {
			c.problems = append(c.problems, fmt.Sprintf("staff %d: agent shows status %d, Omnidesk has %d", e.staffID, as.StatusID, want))
		}
		if as.Operator == nil || as.Operator.ID != e.opID {
			c.problems = append(c.problems, fmt.Sprintf("staff %d: agent shows operator %v, the hub links %s", e.staffID, as.Operator, e.opID))
		}
		op := ops[e.opID]
		if exp := wantChaport(want); op.RealStatus != exp {
			c.problems = append(c.problems, fmt.Sprintf("staff %d: operator %s is %s, status %d wants %s (last write %s)",
				e.staffID, e.opID, op.RealStatus, want, exp, lastOK[e.opID]))
		}
		since, flipped := lastFlip[e.staffID]
		if !flipped {
			since = runStart
		}
		if hasAccess(want) {
			if lastOnline[e.opID].Before(since) {
				c.problems = append(c.problems, fmt.Sprintf("staff %d: no online write since the last flip (to %d at %s)",
					e.staffID, want, since.Format("15:04:05.000")))
			} else {
				c.onlineWritten++
			}
			continue
		}
		w := lastOK[e.opID]
		switch {
		case w.Status == "offline":
			c.offlineWritten++
		case w.Status == "" && as.Chaport == "offline" && op.RealStatus == "offline":
			c.alreadyOffline++
		case w.Status == "online" && !w.Until().After(now):
			c.lapsed++
			c.lapsedOps = append(c.lapsedOps, e)
		default:
			c.problems = append(c.problems, fmt.Sprintf("staff %d: status %d has no chat access, but the last write is %s", e.staffID, want, w))
		}
	}
	return c
}

func summarize(problems []string) string {
	const show = 15
	s := fmt.Sprintf("%d problems", len(problems))
	if len(problems) > 0 {
		s += ":\n\t" + strings.Join(problems[:min(show, len(problems))], "\n\t")
	}
	if len(problems) > show {
		s += fmt.Sprintf("\n\t… and %d more", len(problems)-show)
	}
	return s
}

// report logs a phase's figures, checks the Omnidesk budget, and returns the
// Chaport write counts of the run window.
func report(t *testing.T, cfg phaseConfig, calls *callLog, hubs *hubRunner, emps []*employee,
	flips []flip, runStart, runEnd, settleEnd time.Time) phaseResult {
	var res phaseResult
	all := calls.All()
	otherWrites := 0
	var odCalls []sandbox.Call
	for _, c := range all {
		if c.Service == "omnidesk" {
			odCalls = append(odCalls, c)
			continue
		}
		if _, ok := sandboxlog.StatusWritePath(c); !ok {
			continue
		}
		if c.At.Before(runStart) || c.At.After(runEnd) {
			otherWrites++
			continue
		}
		res.writes++
		switch {
		case c.Status == http.StatusOK:
			res.writesOK++
		case c.Fault != "":
			res.writesInjected++
		}
	}
	t.Logf("%s: %d flips; Chaport status writes %d in the run window (%d ok, %d injected faults), %d more in set-up and settling",
		cfg.name, len(flips), res.writes, res.writesOK, res.writesInjected, otherWrites)

	// Omnidesk: per calendar minute of the sandbox clock.
	type minute struct{ charged, attempted, calls, injected429, budget429 int }
	perMinute := map[time.Time]*minute{}
	for _, c := range odCalls {
		k := c.At.Truncate(time.Minute)
		m := perMinute[k]
		if m == nil {
			m = &minute{}
			perMinute[k] = m
		}
		m.calls++
		m.charged += c.Cost
		m.attempted += sandboxlog.UnitCost(c)
		if c.Status == http.StatusTooManyRequests || c.Status == http.StatusForbidden {
			if c.Fault == sandbox.FaultRateLimit {
				m.injected429++
			} else {
				m.budget429++
			}
		}
	}
	keys := make([]time.Time, 0, len(perMinute))
	for k := range perMinute {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b time.Time) int { return a.Compare(b) })
	maxCharged, maxAttempted, injected, overBudget := 0, 0, 0, 0
	var rows []string
	for _, k := range keys {
		m := perMinute[k]
		maxCharged, maxAttempted = max(maxCharged, m.charged), max(maxAttempted, m.attempted)
		injected += m.injected429
		overBudget += m.budget429
		rows = append(rows, fmt.Sprintf("%s %d/%d", k.Format("15:04"), m.charged, m.attempted))
		if m.charged > budgetPerMinute || m.attempted > budgetPerMinute {
			t.Errorf("%s: Omnidesk minute %s: %d units charged, %d attempted, budget %d", cfg.name,
				k.Format("15:04"), m.charged, m.attempted, budgetPerMinute)
		}
		if m.budget429 > 0 {
			t.Errorf("%s: Omnidesk minute %s: %d rate-limit answers that were not injected (the budget ran out)",
				cfg.name, k.Format("15:04"), m.budget429)
		}
	}
	t.Logf("%s: Omnidesk %d calls; units per calendar minute (charged/attempted): %s; max %d/%d of %d; 429s: %d injected, %d from the budget",
		cfg.name, len(odCalls), strings.Join(rows, ", "), maxCharged, maxAttempted, budgetPerMinute, injected, overBudget)

	// A hub alone keeps to its share in any 60 s of each of its lives
	// (attempts, by arrival); a cluster keeps to it as a whole, over the
	// whole phase: the replicas share the credentials, so the share is the
	// cluster's, and a new leader starts from the budget the last one left.
	// The replicas run in one process, so the log cannot tell their calls
	// apart; each life's calls are counted only for a hub alone.
	for i, life := range hubs.lives {
		ready := "never ready"
		if !life.ready.IsZero() {
			ready = "ready after " + life.ready.Sub(life.start).Round(time.Millisecond).String()
		}
		if hubs.clustered() {
			t.Logf("%s: %s life #%d up %s–%s (%v), %s", cfg.name, life.node.name, i+1,
				life.start.Format("15:04:05.000"), life.stop.Format("15:04:05.000"),
				life.stop.Sub(life.start).Round(time.Millisecond), ready)
			continue
		}
		var mine []sandbox.Call
		for _, c := range odCalls {
			if !c.At.Before(life.start) && c.At.Before(life.stop) {
				mine = append(mine, c)
			}
		}
		peak := sandboxlog.PeakWindow(mine, time.Minute)
		t.Logf("%s: hub #%d up %v, %s, %d Omnidesk calls, peak %d units in 60 s (share %d)", cfg.name, i+1,
			life.stop.Sub(life.start).Round(time.Millisecond), ready, len(mine), peak, allowance)
		if peak > allowance+shareSlack {
			t.Errorf("%s: hub #%d attempted %d Omnidesk units within 60 s, its share is %d", cfg.name, i+1, peak, allowance)
		}
	}
	who := "the hub's lives together"
	if hubs.clustered() {
		who = "the cluster"
	}
	peak := sandboxlog.PeakWindow(odCalls, time.Minute)
	t.Logf("%s: %s made %d Omnidesk calls, peak %d units in any 60 s of the phase (share %d)", cfg.name, who, len(odCalls), peak, allowance)
	if hubs.clustered() && peak > allowance+shareSlack {
		t.Errorf("%s: the cluster attempted %d Omnidesk units within 60 s, its share is %d", cfg.name, peak, allowance)
	}

	// Agents.
	reconnects := make([]int, 0, len(emps))
	for _, e := range emps {
		reconnects = append(reconnects, max(int(e.logs.connects.Load())-1, 0))
	}
	sort.Ints(reconnects)
	total := 0
	for _, r := range reconnects {
		total += r
	}
	t.Logf("%s: agent reconnects: total %d, min %d, median %d, max %d", cfg.name, total,
		reconnects[0], reconnects[len(reconnects)/2], reconnects[len(reconnects)-1])
	t.Logf("%s: hub log: %s", cfg.name, hubs.log.summary())
	t.Logf("%s: run and settle took %v", cfg.name, settleEnd.Sub(runStart).Round(time.Millisecond))
	return res
}
