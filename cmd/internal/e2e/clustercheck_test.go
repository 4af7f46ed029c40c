package e2e

// What the cluster tests judge, all from the sandbox's own call log: who
// polled Omnidesk and when, what the cluster spent of its Omnidesk share,
// and whether an online operator's Chaport lease ever lapsed.

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/omnitray/omnitray/cmd/internal/sandboxlog"
	"github.com/omnitray/omnitray/sync/feed"
)

// callTape copies the sandbox's call log as it grows (the sandbox keeps
// only the newest 20,000 calls).
type callTape struct{ *sandboxlog.Tape }

func newCallTape(s *stack) *callTape {
	return &callTape{sandboxlog.NewTape(func(since int) []call { return s.calls("", since) })}
}

// all reads what is new and returns every call so far.
func (tp *callTape) all() []call {
	tp.Pull()
	return tp.All()
}

// between is the calls in [from, to).
func between(calls []call, from, to time.Time) []call {
	var out []call
	for _, c := range calls {
		if !c.At.Before(from) && c.At.Before(to) {
			out = append(out, c)
		}
	}
	return out
}

// nodeOf names the replica that made a call, by the address it came from.
func (c *cluster) nodeOf(cl call) string {
	host, _, err := net.SplitHostPort(cl.Remote)
	if err != nil {
		return "?"
	}
	if r := c.byIP[host]; r != nil {
		return r.name
	}
	return host // not a replica's: a test's own call, say
}

// isStaffPoll is a read of Omnidesk's staff list.
func isStaffPoll(cl call) bool {
	return cl.Service == "omnidesk" && cl.Method == http.MethodGet && cl.Path == "/api/staff.json"
}

// leaderOnly says whether only the leader makes a call of this kind: every
// Omnidesk call, and Chaport's company-wide reads (the operator list, the
// chat watcher's visitors and chats). Status writes and an agent's
// operator read-back are made by whichever replica holds its session.
func leaderOnly(cl call) bool {
	if cl.Service == "omnidesk" {
		return true
	}
	return cl.Service == "chaport" && cl.Method == http.MethodGet &&
		(cl.Path == "/api/v1/operators" || strings.HasPrefix(cl.Path, "/api/v1/visitors"))
}

// term is a run of leader-only calls from one replica with no other
// replica's in between.
type term struct {
	node        string
	first, last time.Time
	calls       int
}

func (tm term) String() string {
	return fmt.Sprintf("%s %s–%s (%d calls)", tm.node, tm.first.Format("15:04:05.000"), tm.last.Format("15:04:05.000"), tm.calls)
}

// terms cuts calls (in log order) into runs of one replica's leader-only
// calls of the kinds keep selects. With one leader at a time, every change
// of hands is a change of leader; two replicas polling side by side show as
// many short terms.
func (c *cluster) terms(calls []call, keep func(call) bool) []term {
	var out []term
	for _, cl := range calls {
		if !keep(cl) {
			continue
		}
		n := c.nodeOf(cl)
		if len(out) == 0 || out[len(out)-1].node != n {
			out = append(out, term{node: n, first: cl.At})
		}
		tm := &out[len(out)-1]
		tm.last = cl.At
		tm.calls++
	}
	return out
}

// firstCall is the first call after from that ok accepts.
func firstCall(calls []call, from time.Time, ok func(call) bool) (call, bool) {
	for _, cl := range calls {
		if cl.At.After(from) && ok(cl) {
			return cl, true
		}
	}
	return call{}, false
}

// shareSlack is what the budget check allows beyond the share in 60 s:
// the sandbox logs a call when it arrives, the pacer counts it when it
// books it, and the two clocks' windows can differ by a call or two.
const shareSlack = 3

// checkOmnideskShare fails the test if the cluster as a whole attempted
// more than its share of the Omnidesk budget within any 60 s, or if
// Omnidesk (the sandbox) ever refused a call for the budget.
func (c *cluster) checkOmnideskShare(calls []call, share int) {
	c.t.Helper()
	var od []call
	for _, cl := range calls {
		if cl.Service != "omnidesk" {
			continue
		}
		od = append(od, cl)
		if cl.Status == http.StatusTooManyRequests || cl.Status == http.StatusForbidden {
			c.t.Errorf("Omnidesk refused %s's %s %s at %s with %d: the budget ran out", c.nodeOf(cl), cl.Method,
				cl.Path, cl.At.Format("15:04:05.000"), cl.Status)
		}
	}
	peak := sandboxlog.PeakWindow(od, time.Minute)
	c.t.Logf("Omnidesk: %d calls by the cluster, peak %d units in 60 s (share %d)", len(od), peak, share)
	if peak > share+shareSlack {
		c.t.Errorf("the cluster attempted %d Omnidesk units within 60 s; its share is %d", peak, share)
	}
}

// onlineAt lists the operators whose online lease was live at t, by their
// successful writes in calls.
func onlineAt(calls []call, ops []string, t time.Time) []string {
	writes := sandboxlog.SuccessfulWrites(calls)
	var out []string
	for _, op := range ops {
		for _, sp := range sandboxlog.OnlineSpans(writes[op]) {
			if !sp.From.After(t) && sp.To.After(t) {
				out = append(out, op)
				break
			}
		}
	}
	return out
}

// lapses returns, for each operator in ops, the parts of [from, to] in
// which no online lease of it was live in Chaport: a lapse, or an offline
// written. Only operators whose staff kept chat access throughout belong
// in ops.
func lapses(calls []call, ops []string, from, to time.Time) map[string][]sandboxlog.Span {
	writes := sandboxlog.SuccessfulWrites(calls)
	out := map[string][]sandboxlog.Span{}
	for _, op := range ops {
		if gaps := sandboxlog.Uncovered(sandboxlog.OnlineSpans(writes[op]), from, to); len(gaps) > 0 {
			out[op] = gaps
		}
	}
	return out
}

// describeLapses is lapses as lines for a message, with each operator's
// writes around them.
func describeLapses(calls []call, l map[string][]sandboxlog.Span) string {
	var b strings.Builder
	for _, op := range sortedKeys(l) {
		fmt.Fprintf(&b, "\n\toperator %s offline %v; its writes:", op, l[op])
		for _, cl := range calls {
			if o, ok := sandboxlog.StatusWritePath(cl); ok && o == op {
				fmt.Fprintf(&b, " %s %s→%d;", cl.At.Format("15:04:05.000"), cl.Body, cl.Status)
			}
		}
	}
	return b.String()
}

// handovers counts the hand-over messages for a visitor's chat the hub
// pushed on one feed connection.
func (f *feedConn) handovers(visitorID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, ev := range f.events {
		if ev.Kind != feed.Message || ev.Env.Type != feed.TypeChat {
			continue
		}
		if ce, err := feed.DecodeData[feed.ChatEvent](ev.Env); err == nil && ce.Kind == feed.ChatHandover && ce.VisitorID == visitorID {
			n++
		}
	}
	return n
}

// live reports whether the feed connection is up: its latest connection
// event is Connected.
func (f *feedConn) live() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.events) - 1; i >= 0; i-- {
		switch f.events[i].Kind {
		case feed.Connected:
			return true
		case feed.Disconnected:
			return false
		}
	}
	return false
}
