package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent"
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
// CHAOS_DURATION (default 8s; `make chaos` sets 5m), and compares them.
// Both phases make the same status flips at the same points of their runs
// (one seed, CHAOS_SEED to repeat a run). Each phase sets up fault-free (a
// new sandbox, the hub ready, all 100 agents connected), then runs: faults
// on (chaos phase), a driver flipping a random staff member's status every
// flipEvery on average, and the hub restarted at 1/3 and 2/3 of the run on
// the same address (chaos phase; each restart waits until the current hub
// has served for minServing, so in a short run the second may not fit,
// which is logged). Then the faults and the driver stop and the state must
// settle.
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
// each hub instance's attempts in any 60 s stay within its share.
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

	base := runPhase(t, phaseConfig{name: "baseline", duration: d, seed: seed})
	if t.Failed() {
		t.Fatal("the fault-free baseline failed; the chaos phase would prove nothing")
	}
	chaos := runPhase(t, phaseConfig{name: "chaos", duration: d, seed: seed, faults: true, restarts: 2})

	ratio := float64(chaos.writes) / float64(max(base.writes, 1))
	t.Logf("Chaport status writes in %v: baseline %d (%d ok), chaos %d (%d ok, %d failed by injection) — %.2f×",
		d, base.writes, base.writesOK, chaos.writes, chaos.writesOK, chaos.writesInjected, ratio)
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
	t.Logf("── %s phase ──", cfg.name)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: budgetPerMinute},
		Seed: cfg.seed})
	defer sb.Close()
	sb.AddStaff(employees - 3)
	calls := &callLog{sb: sb}

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
				calls.pull()
			}
		}
	})

	// Set-up, fault-free in both phases: the hub, then the agents, until all
	// are connected. The hub's restarts in the run test a start into faults.
	setupStart := time.Now()
	hubs := &hubRunner{t: t, sb: sb, log: &hubLog{}, budgetFile: filepath.Join(t.TempDir(), "omnidesk-budget.json")}
	if err := hubs.start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer hubs.stop()

	select {
	case <-hubs.lives[0].readyDone:
	case <-time.After(setupLimit):
		t.Fatalf("%s: the hub was not ready %v after it started", cfg.name, setupLimit)
	}

	// The agents, as a library, one process.
	agentCtx, stopAgents := context.WithCancel(ctx)
	var agentsDone sync.WaitGroup
	for _, e := range emps {
		tok, err := hub.Sign(hubSecret, e.staffID, time.Now(), 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(agent.Config{HubURL: "http://" + hubs.addr, Token: tok, Grace: grace,
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
	t.Logf("%s: set-up: hub ready and %d agents connected in %v", cfg.name, len(emps),
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
	restarts := 0
	for i := 1; i <= cfg.restarts && runCtx.Err() == nil; i++ {
		at := runStart.Add(cfg.duration * time.Duration(i) / time.Duration(cfg.restarts+1))
		if hubs.waitServing(runCtx, at) {
			hubs.restart()
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
	calls.pull()

	// The figures.
	res := report(t, cfg, calls, hubs, emps, flips, runStart, runEnd, settleEnd)
	checkRuns(t, cfg, calls, hubs, emps, initial, flips, runStart)
	if !convergedAt.IsZero() {
		t.Logf("%s: settled %v after the run (faults off, driver stopped), held %v; final transitions: %d online written, %d offline written, %d online lapsed",
			cfg.name, convergedAt.Sub(runEnd).Round(time.Millisecond), cfg.hold(),
			outcome.onlineWritten, outcome.offlineWritten, outcome.lapsed)
	}
	for _, e := range outcome.lapsedOps {
		t.Logf("%s: staff %d ended without chat access and its online lapsed instead of an offline write; agent: chaport %q, lease until %s; operator %s's last writes: %s",
			cfg.name, e.staffID, e.agent.State().Chaport, e.agent.State().LeaseExpires.Format("15:04:05.000"), e.opID,
			strings.Join(calls.history(e.opID, 6), "; "))
	}
	if calls.gap {
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
}

// check compares every employee's agent and operator with what their final
// Omnidesk status calls for (see TestChaos).
func check(sb *sandbox.Sandbox, calls *callLog, emps []*employee, status map[int64]int64,
	lastFlip map[int64]time.Time, runStart, now time.Time) convergence {
	calls.pull()
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
		case w.status == "offline":
			c.offlineWritten++
		case w.status == "online" && !w.until().After(now):
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
	all := calls.all()
	otherWrites := 0
	var odCalls []sandbox.Call
	for _, c := range all {
		if c.Service == "omnidesk" {
			odCalls = append(odCalls, c)
			continue
		}
		if _, ok := statusWritePath(c); !ok {
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
		m.attempted += unitCost(c)
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

	// Each hub instance keeps to its share in any 60 s (attempts, by arrival).
	for i, life := range hubs.lives {
		var mine []sandbox.Call
		for _, c := range odCalls {
			if !c.At.Before(life.start) && c.At.Before(life.stop) {
				mine = append(mine, c)
			}
		}
		peak := peakWindow(mine, time.Minute)
		ready := "never ready"
		if !life.ready.IsZero() {
			ready = "ready after " + life.ready.Sub(life.start).Round(time.Millisecond).String()
		}
		t.Logf("%s: hub #%d up %v, %s, %d Omnidesk calls, peak %d units in 60 s (share %d)", cfg.name, i+1,
			life.stop.Sub(life.start).Round(time.Millisecond), ready, len(mine), peak, allowance)
		if peak > allowance+shareSlack {
			t.Errorf("%s: hub #%d attempted %d Omnidesk units within 60 s, its share is %d", cfg.name, i+1, peak, allowance)
		}
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

// unitCost is what a call would cost from the budget had it been charged.
func unitCost(c sandbox.Call) int {
	if c.Method == http.MethodGet || c.Method == http.MethodHead {
		return 1
	}
	return 2
}

// peakWindow is the most units attempted within any window of length w.
func peakWindow(calls []sandbox.Call, w time.Duration) int {
	sorted := slices.Clone(calls)
	slices.SortFunc(sorted, func(a, b sandbox.Call) int { return a.At.Compare(b.At) })
	peak, sum, lo := 0, 0, 0
	for _, c := range sorted {
		sum += unitCost(c)
		for c.At.Sub(sorted[lo].At) >= w {
			sum -= unitCost(sorted[lo])
			lo++
		}
		peak = max(peak, sum)
	}
	return peak
}

// ── the sandbox's call log ──

// callLog copies the sandbox's bounded call log as it grows.
type callLog struct {
	sb    *sandbox.Sandbox
	mu    sync.Mutex
	calls []sandbox.Call
	last  int
	gap   bool
}

func (l *callLog) pull() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.sb.Calls("", l.last) {
		if c.Seq != l.last+1 {
			l.gap = true
		}
		l.calls = append(l.calls, c)
		l.last = c.Seq
	}
}

func (l *callLog) all() []sandbox.Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// history describes the last n status write attempts for an operator.
func (l *callLog) history(op string, n int) []string {
	out := l.historyIn(op, time.Time{}, time.Now().Add(time.Hour))
	return out[max(0, len(out)-n):]
}

// historyIn describes the status write attempts for an operator in [from, to].
func (l *callLog) historyIn(op string, from, to time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []string{}
	for _, c := range l.calls {
		if o, ok := statusWritePath(c); ok && o == op && !c.At.Before(from) && !c.At.After(to) {
			s := fmt.Sprintf("%s %s → %d", c.At.Format("15:04:05.000"), c.Body, c.Status)
			if c.Fault != "" {
				s += " (injected " + c.Fault + ")"
			}
			out = append(out, s)
		}
	}
	return out
}

// statusWrite is one successful Chaport status write.
type statusWrite struct {
	at     time.Time
	status string
	ttl    int
}

func (w statusWrite) until() time.Time { return w.at.Add(time.Duration(w.ttl) * time.Second) }

func (w statusWrite) String() string {
	if w.status == "" {
		return "none"
	}
	return fmt.Sprintf("%s ttl %ds at %s", w.status, w.ttl, w.at.Format("15:04:05.000"))
}

// statusWritePath returns the operator of a Chaport status write.
func statusWritePath(c sandbox.Call) (string, bool) {
	if c.Service != "chaport" || c.Method != http.MethodPost {
		return "", false
	}
	rest, ok := strings.CutPrefix(c.Path, "/api/v1/operators/")
	if !ok {
		return "", false
	}
	op, ok := strings.CutSuffix(rest, "/status")
	return op, ok && op != "" && !strings.Contains(op, "/")
}

// lastWrites returns, per operator, the last successful status write and
// the time of the last successful online write.
func (l *callLog) lastWrites() (map[string]statusWrite, map[string]time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	last := map[string]statusWrite{}
	online := map[string]time.Time{}
	for _, c := range l.calls {
		w, op, ok := successfulWrite(c)
		if !ok {
			continue
		}
		if w.at.After(last[op].at) || last[op].status == "" {
			last[op] = w
		}
		if w.status == "online" && w.at.After(online[op]) {
			online[op] = w.at
		}
	}
	return last, online
}

// ── the hub, restartable on one address ──

// hubLife is one hub instance's life; ready is set by watchReady, read only
// after readyDone is closed.
type hubLife struct {
	start, ready, stop time.Time
	readyDone          chan struct{}
}

type hubRunner struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	log   *hubLog
	addr  string
	lives []*hubLife
	// budgetFile carries the learned Omnidesk budget from one hub to the
	// next, as omnitray-hub's state directory does.
	budgetFile string

	cancel context.CancelFunc
	srv    *http.Server
	done   chan struct{}
}

// start runs a new hub (new clients, new pacer, as a new process would have)
// on addr, retrying the listen while the old socket is still being released.
func (r *hubRunner) start(addr string) error {
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	r.addr = ln.Addr().String()
	h := hubtest.New(r.t, r.sb, hubFile, func(c *hub.Config) {
		c.Secret, c.Logger, c.BudgetFile = hubSecret, slog.New(r.log), r.budgetFile
	})
	life := &hubLife{start: time.Now(), readyDone: make(chan struct{})}
	r.lives = append(r.lives, life)
	ctx, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln) }()
	go func() {
		_ = h.Run(ctx)
		close(done)
	}()
	go watchReady(ctx, "http://"+r.addr+"/healthz", life)
	r.cancel, r.srv, r.done = cancel, srv, done
	return nil
}

// watchReady records when the hub first answers /healthz with 200 (its
// first staff poll went through).
func watchReady(ctx context.Context, url string, life *hubLife) {
	defer close(life.readyDone)
	hc := &http.Client{Timeout: time.Second}
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				life.ready = time.Now()
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the hub as a process exit would: its pollers stop, its port
// closes and every agent's connection drops.
func (r *hubRunner) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	_ = r.srv.Close()
	<-r.done
	life := r.lives[len(r.lives)-1]
	life.stop = time.Now()
	<-life.readyDone
	r.cancel = nil
}

// minServing is how long a hub serves before the test restarts it: agents
// reconnect within maxBackoff, so by then they are all back.
const minServing = maxBackoff

// waitServing waits until at, and until the current hub has been ready for
// minServing, so that every restart cuts off connected agents rather than
// a hub nobody reached yet. It returns false if ctx ends first.
func (r *hubRunner) waitServing(ctx context.Context, at time.Time) bool {
	life := r.lives[len(r.lives)-1]
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(at)):
	}
	select {
	case <-ctx.Done():
		return false
	case <-life.readyDone:
	}
	if life.ready.IsZero() {
		return false // the hub stopped before it was ready; cannot happen here
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(life.ready.Add(minServing))):
		return true
	}
}

func (r *hubRunner) restart() {
	r.stop()
	time.Sleep(restartDowntime)
	if err := r.start(r.addr); err != nil {
		r.t.Errorf("restarting the hub: %v", err)
	}
}

// ── logs ──

// agentLog is an agent's logger: it counts connections to the hub (the
// agent logs one line per connection after a disconnect).
type agentLog struct {
	connects atomic.Int64
}

func (l *agentLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *agentLog) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "connected to the hub as ") {
		l.connects.Add(1)
	}
	return nil
}
func (l *agentLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *agentLog) WithGroup(string) slog.Handler      { return l }

// hubLog counts the hub's log lines by message, at Info and above, and
// keeps a few sample errors of each warning.
type hubLog struct {
	mu      sync.Mutex
	counts  map[string]int
	samples map[string][]string
}

func (l *hubLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l *hubLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts, l.samples = map[string]int{}, map[string][]string{}
	}
	k := r.Level.String() + " " + r.Message
	l.counts[k]++
	if r.Level >= slog.LevelWarn && len(l.samples[k]) < 3 {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" && !slices.Contains(l.samples[k], a.Value.String()) {
				l.samples[k] = append(l.samples[k], a.Value.String())
			}
			return true
		})
	}
	return nil
}
func (l *hubLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *hubLog) WithGroup(string) slog.Handler      { return l }

func (l *hubLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make([]string, 0, len(l.counts))
	for k := range l.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return l.counts[keys[i]] > l.counts[keys[j]] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		p := fmt.Sprintf("%q ×%d", k, l.counts[k])
		if len(l.samples[k]) > 0 {
			p += " (e.g. " + strings.Join(l.samples[k], "; ") + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// ── intermediate transitions ──

// A status run is judged from the moment the hub could know of it: the first
// staff poll Omnidesk answered after the flip, or the end of a hub outage
// it overlaps, whichever is later (see checkRuns). From there:
//
//   - a run with chat access lasting accessJudge must see an online write
//     (without faults a successful one; under faults an attempt, whatever
//     the fake answered: the agent retrying is the product working);
//   - a run without lasting offlineJudge must not end with the operator
//     online: the grace, then an offline write, or under faults at worst
//     the last extension's lease running out (grace + 2 s latency + lease).
//
// Shorter runs are not judged. Online writes later than accessTakes, or an
// operator still online offlineTakes into a run that ends offline, are
// counted as late: a stalled machine delays them without a bug.
const (
	accessTakes  = 3 * time.Second
	offlineTakes = 5 * time.Second
	accessJudge  = accessTakes + stallSlack
)

func offlineJudge(faults bool) time.Duration {
	if faults {
		return grace + 2*time.Second + leaseTTL + stallSlack + time.Second
	}
	return offlineTakes + stallSlack
}

// statusRun is a stretch of time in which a staff member's status kept
// giving chat access, or kept not giving it.
type statusRun struct {
	staffID    int64
	opID       string
	access     bool
	start, end time.Time
}

// statusRuns cuts each staff member's flips into runs. The run still going
// at the end of the run window is left out: the final check covers it.
func statusRuns(emps []*employee, initial map[int64]int64, flips []flip, runStart time.Time) []statusRun {
	var out []statusRun
	for _, e := range emps {
		cur := statusRun{staffID: e.staffID, opID: e.opID, access: hasAccess(initial[e.staffID]), start: runStart}
		for _, f := range flips {
			if f.staffID != e.staffID || hasAccess(f.statusID) == cur.access {
				continue
			}
			cur.end = f.at
			out = append(out, cur)
			cur = statusRun{staffID: e.staffID, opID: e.opID, access: !cur.access, start: f.at}
		}
	}
	return out
}

// span is a stretch of time, e.g. one in which an operator was online.
type span struct{ from, to time.Time }

// onlineSpans replays an operator's successful writes, oldest first: an
// online write holds until its lease ends or the next write replaces it.
func onlineSpans(writes []statusWrite) []span {
	var out []span
	for i, w := range writes {
		if w.status != "online" {
			continue
		}
		to := w.until()
		if i+1 < len(writes) && writes[i+1].at.Before(to) {
			to = writes[i+1].at
		}
		out = append(out, span{w.at, to})
	}
	return out
}

// outages are the stretches in which agents could not be served: from a
// hub's stop (or the first hub's start) until its successor had been ready,
// and had read the Chaport operators it links staff to, for maxBackoff
// (by then every agent is back). A hub that never got there is out until
// it stopped.
func outages(hubs *hubRunner, all []sandbox.Call) []span {
	var out []span
	for i, life := range hubs.lives {
		from := life.start
		if i > 0 {
			from = hubs.lives[i-1].stop
		}
		var linked time.Time
		for _, c := range all {
			if c.Service == "chaport" && c.Method == http.MethodGet && c.Path == "/api/v1/operators" &&
				c.Status == http.StatusOK && !c.At.Before(life.start) && c.At.Before(life.stop) {
				linked = c.At
				break
			}
		}
		to := life.stop
		if !life.ready.IsZero() && !linked.IsZero() {
			to = later(life.ready, linked).Add(maxBackoff)
		}
		out = append(out, span{from, to})
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// checkRuns checks that every status run that lasted long enough after the
// hub could know of it took effect in Chaport (see accessJudge,
// offlineJudge); a flip undone before the hub's next poll may rightly never
// be seen. A lost transition fails the test in both phases.
func checkRuns(t *testing.T, cfg phaseConfig, calls *callLog, hubs *hubRunner, emps []*employee,
	initial map[int64]int64, flips []flip, runStart time.Time) {
	all := calls.all()
	okWrites := map[string][]statusWrite{}
	var attempts = map[string][]time.Time{} // online write attempts, any outcome
	var polls []time.Time                   // staff polls Omnidesk answered
	for _, c := range all {
		if w, op, ok := successfulWrite(c); ok {
			okWrites[op] = append(okWrites[op], w)
		}
		if op, ok := statusWritePath(c); ok && strings.Contains(c.Body, `"online"`) {
			attempts[op] = append(attempts[op], c.At)
		}
		if c.Service == "omnidesk" && c.Method == http.MethodGet && c.Path == "/api/staff.json" && c.Status == http.StatusOK {
			polls = append(polls, c.At)
		}
	}
	slices.SortFunc(polls, time.Time.Compare)
	spans := map[string][]span{}
	for op, ws := range okWrites {
		slices.SortStableFunc(ws, func(a, b statusWrite) int { return a.at.Compare(b.at) })
		spans[op] = onlineSpans(ws)
	}
	down := outages(hubs, all)
	// judgedFrom is when the hub could know of the run; false if never.
	judgedFrom := func(r statusRun) (time.Time, bool) {
		i, _ := slices.BinarySearchFunc(polls, r.start, func(p, t time.Time) int {
			if p.After(t) {
				return 1
			}
			return -1
		})
		if i == len(polls) {
			return time.Time{}, false
		}
		from := polls[i]
		for _, o := range down {
			if o.from.Before(r.end) && o.to.After(r.start) {
				from = later(from, o.to)
			}
		}
		return from, from.Before(r.end)
	}
	offJudge := offlineJudge(cfg.faults)
	type tally struct{ judged, lost, late, noSuccess int }
	var acc, off tally
	var lost []string
	for _, r := range statusRuns(emps, initial, flips, runStart) {
		from, ok := judgedFrom(r)
		if !ok {
			continue
		}
		length := r.end.Sub(from)
		var why string
		if r.access {
			var firstOK, firstTry time.Time
			for _, w := range okWrites[r.opID] {
				if w.status == "online" && !w.at.Before(from) && !w.at.After(r.end) {
					firstOK = w.at
					break
				}
			}
			for _, at := range attempts[r.opID] {
				if !at.Before(from) && !at.After(r.end) {
					firstTry = at
					break
				}
			}
			if length >= accessTakes && !firstOK.IsZero() && firstOK.Sub(from) > accessTakes {
				acc.late++
			}
			if length < accessJudge {
				continue
			}
			acc.judged++
			if firstOK.IsZero() {
				acc.noSuccess++
			}
			if firstTry.IsZero() || (!cfg.faults && firstOK.IsZero()) {
				acc.lost++
				why = fmt.Sprintf("chat access for %v after the hub could know, and no online write", length.Round(time.Millisecond))
				if !firstTry.IsZero() {
					why += " that went through"
				}
			}
		} else {
			if length < offlineTakes {
				continue
			}
			due := from.Add(offlineTakes)
			var onlineAtEnd, lateOnline bool
			for _, s := range spans[r.opID] {
				lateOnline = lateOnline || (s.from.Before(r.end) && due.Before(s.to))
				onlineAtEnd = onlineAtEnd || (s.from.Before(r.end) && !s.to.Before(r.end))
			}
			if lateOnline && !onlineAtEnd {
				off.late++
			}
			if length < offJudge {
				continue
			}
			off.judged++
			if onlineAtEnd {
				off.lost++
				why = fmt.Sprintf("no chat access for %v after the hub could know, and still online at its end", length.Round(time.Millisecond))
			}
		}
		if why != "" {
			lost = append(lost, fmt.Sprintf("staff %d, operator %s, run %s–%s (judged from %s): %s; its writes: %s",
				r.staffID, r.opID, r.start.Format("15:04:05.000"), r.end.Format("15:04:05.000"),
				from.Format("15:04:05.000"), why, strings.Join(calls.historyIn(r.opID, r.start.Add(-leaseTTL), r.end), "; ")))
		}
	}
	t.Logf("%s: status runs with chat access: %d judged (≥ %v after the hub could know), %d lost, %d without a successful online write, %d online later than %v; without: %d judged (≥ %v), %d lost, %d offline later than %v",
		cfg.name, acc.judged, accessJudge, acc.lost, acc.noSuccess, acc.late, accessTakes,
		off.judged, offJudge, off.lost, off.late, offlineTakes)
	if len(lost) > 0 {
		t.Errorf("%s: transitions lost: %s", cfg.name, summarize(lost))
	}
}

// successfulWrite decodes a Chaport status write the fake carried out.
func successfulWrite(c sandbox.Call) (statusWrite, string, bool) {
	op, ok := statusWritePath(c)
	if !ok || c.Status != http.StatusOK {
		return statusWrite{}, "", false
	}
	var body struct {
		Status string `json:"status"`
		TTL    int    `json:"ttl"`
	}
	if err := json.Unmarshal([]byte(c.Body), &body); err != nil {
		return statusWrite{}, "", false
	}
	return statusWrite{at: c.At, status: body.Status, ttl: body.TTL}, op, true
}

// settle waits for every employee's state to converge after the run, then
// (under faults) holds it for a lease: during the hold every operator whose
// staff has chat access must get a successful online renewal and no other
// operator any online write, and at its end the state must still be
// converged. The hold's checks count writes rather than sample the real
// status, so that a scheduling stall on a loaded machine delaying a renewal
// by a second does not read as a lapse; the end check allows as much.
func settle(t *testing.T, cfg phaseConfig, sb *sandbox.Sandbox, calls *callLog, emps []*employee,
	status map[int64]int64, lastFlip map[int64]time.Time, runStart, runEnd time.Time) (time.Time, convergence) {
	var c convergence
	for {
		now := time.Now()
		if c = check(sb, calls, emps, status, lastFlip, runStart, now); len(c.problems) == 0 {
			break
		}
		if now.Sub(runEnd) > settleLimit {
			t.Errorf("%s: not settled %v after the run: %s", cfg.name, settleLimit, summarize(c.problems))
			return time.Time{}, c
		}
		time.Sleep(200 * time.Millisecond)
	}
	convergedAt := time.Now()
	if cfg.hold() == 0 {
		return convergedAt, c
	}
	time.Sleep(cfg.hold())
	var end convergence
	for deadline := time.Now().Add(stallSlack); ; time.Sleep(200 * time.Millisecond) {
		if end = check(sb, calls, emps, status, lastFlip, runStart, time.Now()); len(end.problems) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: converged %v after the run, then broke within %v: %s", cfg.name,
				convergedAt.Sub(runEnd).Round(time.Millisecond), cfg.hold(), summarize(end.problems))
			break
		}
	}
	onlineWrites := map[string]int{}
	for _, cl := range calls.all() {
		if w, op, ok := successfulWrite(cl); ok && w.status == "online" && w.at.After(convergedAt) {
			onlineWrites[op]++
		}
	}
	var problems []string
	for _, e := range emps {
		switch n := onlineWrites[e.opID]; {
		case hasAccess(status[e.staffID]) && n == 0:
			problems = append(problems, fmt.Sprintf("staff %d: status %d has chat access, but operator %s got no online renewal in %v",
				e.staffID, status[e.staffID], e.opID, cfg.hold()))
		case !hasAccess(status[e.staffID]) && n > 0:
			problems = append(problems, fmt.Sprintf("staff %d: status %d has no chat access, but operator %s got %d online writes after converging",
				e.staffID, status[e.staffID], e.opID, n))
		}
	}
	if len(problems) > 0 {
		t.Errorf("%s: the converged state did not hold: %s", cfg.name, summarize(problems))
	}
	return convergedAt, end
}
