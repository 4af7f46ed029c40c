package chaos

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnitray/omnitray/cmd/internal/sandboxlog"
	"github.com/omnitray/omnitray/sync/sandbox"
)

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

// outages are the stretches in which agents could not be served. For a hub
// alone: from a hub's stop (or the first hub's start) until its successor
// had been ready, and had read the Chaport operators it links staff to,
// for maxBackoff (by then every agent is back); a hub that never got there
// is out until it stopped. For a cluster, see clusterOutages.
func outages(hubs *hubRunner, all []sandbox.Call) []sandboxlog.Span {
	if hubs.clustered() {
		return clusterOutages(hubs, all)
	}
	var out []sandboxlog.Span
	for i, life := range hubs.lives {
		from := life.start
		if i > 0 {
			from = hubs.lives[i-1].stop
		}
		to := life.stop
		if linked := firstLinked(all, life.start, life.stop); !life.ready.IsZero() && !linked.IsZero() {
			to = later(life.ready, linked).Add(maxBackoff)
		}
		out = append(out, sandboxlog.Span{From: from, To: to})
	}
	return out
}

// clusterOutages are a cluster's outages: its set-up, from the first
// replica's start until all were ready and one had linked the operators,
// plus maxBackoff; and for each replica's restart, from its stop for
// maxBackoff, in which the agents it cut off reconnect to another replica
// (they fail over at once). A restarted leader also leaves the cluster
// without polls until another replica is elected, which the judging
// already allows: a run counts from the first poll Omnidesk answered.
func clusterOutages(hubs *hubRunner, all []sandbox.Call) []sandboxlog.Span {
	var setup sandboxlog.Span
	var ready time.Time
	for _, n := range hubs.nodes {
		first := n.lives[0]
		if setup.From.IsZero() || first.start.Before(setup.From) {
			setup.From = first.start
		}
		if first.ready.IsZero() {
			// Never ready: out until that replica stopped.
			setup.To = later(setup.To, first.stop)
			continue
		}
		ready = later(ready, first.ready)
	}
	if linked := firstLinked(all, setup.From, time.Now().Add(time.Hour)); !ready.IsZero() && !linked.IsZero() {
		setup.To = later(setup.To, later(ready, linked).Add(maxBackoff))
	}
	out := []sandboxlog.Span{setup}
	for _, stop := range hubs.restartStops() {
		out = append(out, sandboxlog.Span{From: stop, To: stop.Add(maxBackoff)})
	}
	return out
}

// firstLinked is when a hub first read the Chaport operators (to link
// staff to them) in [from, to); zero if none did.
func firstLinked(all []sandbox.Call, from, to time.Time) time.Time {
	for _, c := range all {
		if c.Service == "chaport" && c.Method == http.MethodGet && c.Path == "/api/v1/operators" &&
			c.Status == http.StatusOK && !c.At.Before(from) && c.At.Before(to) {
			return c.At
		}
	}
	return time.Time{}
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
	all := calls.All()

	var attempts = map[string][]time.Time{} // online write attempts, any outcome
	var polls []time.Time                   // staff polls Omnidesk answered
	for _, c := range all {
		if op, ok := sandboxlog.StatusWritePath(c); ok && strings.Contains(c.Body, `"online"`) {
			attempts[op] = append(attempts[op], c.At)
		}
		if c.Service == "omnidesk" && c.Method == http.MethodGet && c.Path == "/api/staff.json" && c.Status == http.StatusOK {
			polls = append(polls, c.At)
		}
	}
	slices.SortFunc(polls, time.Time.Compare)
	okWrites := sandboxlog.SuccessfulWrites(all)
	spans := map[string][]sandboxlog.Span{}
	for op, ws := range okWrites {
		spans[op] = sandboxlog.OnlineSpans(ws)
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
			if o.From.Before(r.end) && o.To.After(r.start) {
				from = later(from, o.To)
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
				if w.Status == "online" && !w.At.Before(from) && !w.At.After(r.end) {
					firstOK = w.At
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
				lateOnline = lateOnline || (s.From.Before(r.end) && due.Before(s.To))
				onlineAtEnd = onlineAtEnd || (s.From.Before(r.end) && !s.To.Before(r.end))
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
	for _, cl := range calls.All() {
		if w, op, ok := sandboxlog.SuccessfulWrite(cl); ok && w.Status == "online" && w.At.After(convergedAt) {
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

// ── lease lapses ──

// lapse is a stretch in which an operator was not online in Chaport
// although its staff had chat access and it had been online since.
type lapse struct {
	staffID int64
	opID    string
	sandboxlog.Span
}

// leaseLapses finds the lapses of the run window: in each run of chat
// access (the one still going at the end cut at runEnd), from its first
// successful online write to its end, the stretches no online lease
// covered. The agent keeps its operator online by renewing the lease at
// half its life; a lapse means the renewals failed for the other half,
// under faults or while the agent had no hub to write through.
func leaseLapses(all []sandbox.Call, emps []*employee, initial map[int64]int64, flips []flip, runStart, runEnd time.Time) []lapse {
	runs := statusRuns(emps, initial, flips, runStart)
	for _, e := range emps { // the runs still going at runEnd
		r := statusRun{staffID: e.staffID, opID: e.opID, access: hasAccess(initial[e.staffID]), start: runStart, end: runEnd}
		for _, f := range flips {
			if f.staffID == e.staffID && hasAccess(f.statusID) != r.access {
				r.access, r.start = !r.access, f.at
			}
		}
		runs = append(runs, r)
	}
	writes := sandboxlog.SuccessfulWrites(all)
	var out []lapse
	for _, r := range runs {
		if !r.access {
			continue
		}
		i := slices.IndexFunc(writes[r.opID], func(w sandboxlog.Write) bool {
			return w.Status == "online" && !w.At.Before(r.start) && w.At.Before(r.end)
		})
		if i < 0 {
			continue // never online in this run: checkRuns and the final check judge that
		}
		for _, gap := range sandboxlog.Uncovered(sandboxlog.OnlineSpans(writes[r.opID]), writes[r.opID][i].At, r.end) {
			out = append(out, lapse{r.staffID, r.opID, gap})
		}
	}
	slices.SortFunc(out, func(a, b lapse) int { return a.From.Compare(b.From) })
	return out
}

// lapseReach is how long after a hub's stop a lapse that begins is
// counted as the restart's: the agents it cut off renewed their leases at
// most leaseTTL before they run out, so a lapse the restart caused begins
// within a lease of it (plus a stalled scheduler's delay).
const lapseReach = leaseTTL + stallSlack

// stallExcuse is the scheduling stall that excuses a lapse after a
// restart: the cut-off agent has at least half a lease (2 s) to reach
// another replica and renew, which takes milliseconds unless the process
// stops running for a good part of that.
const stallExcuse = time.Second

// stallWatch records when a 100 ms ticker fired: the gaps say how long this
// process (hubs, agents and all) was not scheduled, on a loaded machine.
type stallWatch struct {
	mu    sync.Mutex
	ticks []time.Time
}

const stallTick = 100 * time.Millisecond

func (w *stallWatch) run(ctx context.Context) {
	tick := time.NewTicker(stallTick)
	defer tick.Stop()
	for {
		w.mu.Lock()
		w.ticks = append(w.ticks, time.Now())
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// worst is the longest stall overlapping [from, to]: the largest gap
// between two ticks, less the ticker's period.
func (w *stallWatch) worst(from, to time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out time.Duration
	for i := 1; i < len(w.ticks); i++ {
		if w.ticks[i].After(from) && w.ticks[i-1].Before(to) {
			out = max(out, w.ticks[i].Sub(w.ticks[i-1])-stallTick)
		}
	}
	return out
}

// lapseCount sorts the run window's lease lapses by cause.
type lapseCount struct {
	all int
	// restart counts the lapses of agents a restart cut off, beginning
	// within lapseReach of its stop, that the restart caused: the agent
	// was back on a hub only after its lease had run out, or was back in
	// time and still no renewal reached Chaport.
	restart int
	// stalled counts those of the restart's lapses in whose lease the
	// process stalled for stallExcuse or more: the machine's, not the
	// product's.
	stalled int
	// cutFaults counts the other lapses of cut-off agents in that reach:
	// the agent was back in time and a renewal reached Chaport, but the
	// injected faults failed it or their latency delayed it past the
	// lease; without the faults the restart would not have lapsed them.
	cutFaults int
}

// reportLapses logs the run window's lease lapses by cause (see
// lapseCount) and returns their counts.
func reportLapses(t *testing.T, cfg phaseConfig, calls *callLog, hubs *hubRunner, stalls *stallWatch, emps []*employee,
	initial map[int64]int64, flips []flip, runStart, runEnd time.Time) lapseCount {
	all := calls.All()
	lapses := leaseLapses(all, emps, initial, flips, runStart, runEnd)
	attempts := map[string][]time.Time{}
	for _, c := range all {
		if op, ok := sandboxlog.StatusWritePath(c); ok {
			attempts[op] = append(attempts[op], c.At)
		}
	}
	// The fake logs a call once its injected latency is over: a renewal
	// logged that much after the lease ran out was sent before.
	var latency time.Duration
	if cfg.faults {
		latency = time.Duration(latencyMaxMS(cfg.duration)) * time.Millisecond
	}
	byStaff := map[int64]*employee{}
	for _, e := range emps {
		byStaff[e.staffID] = e
	}
	var n lapseCount
	var total, longest time.Duration
	var longestLapse lapse
	var restartLapses []string
	for _, l := range lapses {
		n.all++
		d := l.To.Sub(l.From)
		total += d
		if d > longest {
			longest, longestLapse = d, l
		}
		for _, r := range hubs.restarts {
			if !r.cut[l.staffID] || l.From.Before(r.stop) || !l.From.Before(r.stop.Add(lapseReach)) {
				continue
			}
			// The lease that ran out was written leaseTTL before the lapse.
			written := l.From.Add(-leaseTTL)
			back := byStaff[l.staffID].logs.connectedAfter(r.stop)
			tried := slices.ContainsFunc(attempts[l.opID], func(at time.Time) bool {
				return at.After(written) && !at.After(l.From.Add(latency))
			})
			var why string
			switch {
			case back.IsZero() || back.After(l.From):
				why = "its agent was not back on a hub before the lease ran out"
			case tried:
				n.cutFaults++
			default:
				why = fmt.Sprintf("its agent was back %v after the stop, and no renewal reached Chaport", back.Sub(r.stop).Round(time.Millisecond))
			}
			if why == "" {
				break
			}
			n.restart++
			stall := stalls.worst(written, l.From)
			if stall >= stallExcuse {
				n.stalled++
			}
			restartLapses = append(restartLapses, fmt.Sprintf("staff %d, operator %s offline %v, %v after %s stopped at %s: %s (worst stall in its lease %v); its writes: %s",
				l.staffID, l.opID, l.Span, l.From.Sub(r.stop).Round(time.Millisecond), r.node.name, r.stop.Format("15:04:05.000"),
				why, stall.Round(time.Millisecond), strings.Join(calls.historyIn(l.opID, written, l.To), "; ")))
			break
		}
	}
	t.Logf("%s: lease lapses while chat access lasted: %d, %v offline in all, longest %v; of agents cut off by a restart, within %v of it: %d the restart's (%d in a stall ≥ %v), %d whose renewals the faults failed or delayed; worst stall in the run %v",
		cfg.name, n.all, total.Round(time.Millisecond), longest.Round(time.Millisecond), lapseReach,
		n.restart, n.stalled, stallExcuse, n.cutFaults, stalls.worst(runStart, runEnd).Round(time.Millisecond))
	if longest > 0 {
		l := longestLapse
		t.Logf("%s: the longest lapse: staff %d, operator %s offline %v; its writes: %s", cfg.name, l.staffID, l.opID, l.Span,
			strings.Join(calls.historyIn(l.opID, l.From.Add(-leaseTTL), l.To), "; "))
	}
	if hubs.clustered() {
		// A cluster promises what a rolling restart promises: the agents a
		// replica's stop cuts off renew their leases through another
		// replica in time. A hub alone cannot, and its restarts' lapses
		// are only counted.
		for _, s := range restartLapses {
			t.Logf("%s: lapse caused by a restart: %s", cfg.name, s)
		}
		if n.restart > n.stalled {
			t.Errorf("%s: %d online leases of agents cut off by a replica's restart lapsed for want of a replica to renew them through (%d more in a scheduling stall): see the lapses above",
				cfg.name, n.restart-n.stalled, n.stalled)
		}
	}
	return n
}

// reportFailover logs, for each restart, how soon the agents it cut off
// were connected again: to the restarted hub, for a hub alone; to another
// replica, for a cluster.
func reportFailover(t *testing.T, cfg phaseConfig, hubs *hubRunner, emps []*employee) {
	for i, r := range hubs.restarts {
		var took []time.Duration
		missing := 0
		for _, e := range emps {
			if !r.cut[e.staffID] {
				continue
			}
			back := e.logs.connectedAfter(r.stop)
			if back.IsZero() {
				missing++
				continue
			}
			took = append(took, back.Sub(r.stop))
		}
		slices.Sort(took)
		line := fmt.Sprintf("%s: restart %d of the hub: %d agents cut off", cfg.name, i+1, len(r.cut))
		if hubs.clustered() {
			role := "a follower"
			if r.leader {
				role = "the leader"
			}
			line = fmt.Sprintf("%s: restart %d, %s (%s): %d agents cut off", cfg.name, i+1, r.node.name, role, len(r.cut))
		}
		if len(took) > 0 {
			line += fmt.Sprintf(", connected again after median %v, max %v", took[len(took)/2].Round(time.Millisecond),
				took[len(took)-1].Round(time.Millisecond))
		}
		if missing > 0 {
			line += fmt.Sprintf(", %d never", missing)
		}
		t.Log(line)
	}
}
