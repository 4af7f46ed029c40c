package chaos

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
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

// outages are the stretches in which agents could not be served: from a
// hub's stop (or the first hub's start) until its successor had been ready,
// and had read the Chaport operators it links staff to, for maxBackoff
// (by then every agent is back). A hub that never got there is out until
// it stopped.
func outages(hubs *hubRunner, all []sandbox.Call) []sandboxlog.Span {
	var out []sandboxlog.Span
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
		out = append(out, sandboxlog.Span{From: from, To: to})
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
