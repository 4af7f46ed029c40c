package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/hub"
)

// The tests run real embedded servers on 127.0.0.1. Their waits poll with
// generous limits: the machine is shared and slow, and a RAFT election in
// nats-server alone takes 4 to 9 seconds.

const patience = 45 * time.Second

func testLogger() *slog.Logger {
	if os.Getenv("CLUSTER_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// freePorts finds n free ports on loopback. Another program may take one
// before the server does; on a test machine that is rare enough.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return addrs
}

// clusterOptions are the options of n replicas routed to one another.
func clusterOptions(t *testing.T, n int) []Options {
	addrs := freePorts(t, n)
	opts := make([]Options, n)
	for i := range n {
		var peers []string
		for j, a := range addrs {
			if j != i {
				peers = append(peers, a)
			}
		}
		opts[i] = Options{NodeName: "node-" + strconv.Itoa(i), ClusterListen: addrs[i], ClusterPeers: peers,
			StateDir: t.TempDir(), Logger: testLogger().With("node", i)}
	}
	return opts
}

// startAll starts the replicas at once, as a deployment does, and waits
// for their shared state.
func startAll(t *testing.T, opts []Options) []*Cluster {
	t.Helper()
	cs := make([]*Cluster, len(opts))
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i := range opts {
		wg.Go(func() { cs[i], errs[i] = Start(t.Context(), opts[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("starting node %d: %v", i, err)
		}
		t.Cleanup(cs[i].Close)
	}
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	started := time.Now()
	for i, c := range cs {
		if err := c.waitReady(ctx); err != nil {
			t.Fatalf("node %d: shared state not ready: %v", i, err)
		}
	}
	t.Logf("%d replicas ready in %v", len(cs), time.Since(started).Round(time.Millisecond))
	return cs
}

// eventLog records what happened across replicas, in order.
type eventLog struct {
	mu  sync.Mutex
	evs []string
}

func (l *eventLog) add(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, fmt.Sprintf(format, a...))
}

func (l *eventLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.evs...)
}

// checkTurns checks that the lead funcs took turns: each started after the
// previous one stopped.
func (l *eventLog) checkTurns(t *testing.T) {
	t.Helper()
	leader := ""
	evs := l.snapshot()
	for _, e := range evs {
		switch {
		case strings.HasPrefix(e, "start "):
			if leader != "" {
				t.Fatalf("%s while %s led: %q", e, leader, evs)
			}
			leader = strings.TrimPrefix(e, "start ")
		case strings.HasPrefix(e, "stop "):
			leader = ""
		}
	}
}

func (l *eventLog) index(ev string) int {
	for i, e := range l.snapshot() {
		if e == ev {
			return i
		}
	}
	return -1
}

// waitFor polls cond until it holds or patience runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leaders returns the replicas whose Fence passes.
func leaders(cs []*Cluster) []*Cluster {
	var out []*Cluster
	for _, c := range cs {
		if c != nil && c.Fence() == nil {
			out = append(out, c)
		}
	}
	return out
}

// leadRecording makes every replica run Lead with a lead func that records
// its start and end, and, as it starts, any other replica whose Fence still
// passes: a fencing failure.
func leadRecording(t *testing.T, cs []*Cluster, log *eventLog) {
	for _, c := range cs {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.Lead(ctx, func(lctx context.Context) {
				for _, o := range cs {
					if o != c && o.Fence() == nil {
						log.add("FENCE: %s started while %s's fence held", c.Node(), o.Node())
					}
				}
				log.add("start %s", c.Node())
				<-lctx.Done()
				if c.Fence() == nil {
					log.add("FENCE: %s's fence held after its lead context ended", c.Node())
				}
				log.add("stop %s", c.Node())
			})
		}()
		t.Cleanup(func() { cancel(); <-done })
	}
}

func nodes(cs []*Cluster) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Node())
	}
	return out
}

func without(cs []*Cluster, c *Cluster) []*Cluster {
	var out []*Cluster
	for _, o := range cs {
		if o != c {
			out = append(out, o)
		}
	}
	return out
}

// One cluster goes through it all, since forming one takes seconds: one
// leader is elected and everyone agrees on it; a leader that stops renewing
// (frozen, as the others see it) is fenced before another is elected, and
// does not come back when it thaws; a leader that closes hands over.
func TestLeadership(t *testing.T) {
	opts := clusterOptions(t, 3)
	var frozen [3]atomic.Bool
	for i := range opts {
		opts[i].frozen = frozen[i].Load
	}
	cs := startAll(t, opts)
	renew := cs[0].opts.RenewEvery
	var log eventLog
	leadRecording(t, cs, &log)
	waitFor(t, "a leader", func() bool { return len(leaders(cs)) == 1 })
	// Never two at once. (The same one all along, but on a loaded machine
	// renewals may be slow enough to lose the lead, so that is not checked.)
	atMostOne := func() {
		t.Helper()
		if l := leaders(cs); len(l) > 1 {
			t.Fatalf("two leaders at once: %v", nodes(l))
		}
	}
	for range 40 {
		time.Sleep(renew / 10)
		atMostOne()
	}
	var first *Cluster
	waitFor(t, "everyone's health to agree", func() bool {
		if l := leaders(cs); len(l) == 1 {
			first = l[0]
		} else {
			return false
		}
		for _, c := range cs {
			h := c.Health()
			if h.ClusterSize != 3 || h.Leader != first.Node() || !h.LeaderReachable ||
				(c == first) != (h.Role == hub.RoleLeader) {
				return false
			}
		}
		return true
	})

	// Frozen: fenced first, then another is elected.
	for i, c := range cs {
		if c == first {
			frozen[i].Store(true)
		}
	}
	froze := time.Now()
	waitFor(t, "another leader", func() bool {
		l := leaders(cs)
		return len(l) == 1 && l[0] != first
	})
	second := leaders(cs)[0]
	t.Logf("a follower leads %v after the leader froze", time.Since(froze).Round(time.Millisecond))
	log.checkTurns(t)
	// Thawed, it does not lead beside the new leader.
	for i := range frozen {
		frozen[i].Store(false)
	}
	for range 40 {
		time.Sleep(renew / 10)
		atMostOne()
	}

	// Closed: the lease is given up, and another takes over.
	waitFor(t, "a leader", func() bool { return len(leaders(cs)) == 1 })
	second = leaders(cs)[0]
	closed := time.Now()
	second.Close()
	rest := without(cs, second)
	waitFor(t, "a third leader", func() bool { return len(leaders(rest)) == 1 })
	t.Logf("a follower leads %v after the leader closed", time.Since(closed).Round(time.Millisecond))
	if err := second.Fence(); !errors.Is(err, hub.ErrNotLeader) {
		t.Errorf("the closed leader's Fence: %v, want ErrNotLeader", err)
	}
	log.checkTurns(t)
	waitFor(t, "the others to count two replicas", func() bool {
		return rest[0].Health().ClusterSize == 2 && rest[1].Health().ClusterSize == 2
	})
	for _, e := range log.snapshot() {
		if strings.HasPrefix(e, "FENCE") {
			t.Error(e)
		}
	}
}

// A leader that wakes up late (a stopped process, a paused VM) finds its
// Fence failing at once, before its timer had a chance to run.
func TestFenceFailsOnceTheProofRanOut(t *testing.T) {
	opts := []Options{{NodeName: "node-0", StateDir: t.TempDir(), Logger: testLogger()}}
	var skew atomic.Int64
	var frozen atomic.Bool
	opts[0].now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	opts[0].frozen = frozen.Load
	cs := startAll(t, opts)
	var log eventLog
	leadRecording(t, cs, &log)
	waitFor(t, "leadership", func() bool { return cs[0].Fence() == nil })
	// The loop stays frozen: a renewal by the woken process, had it
	// succeeded, would have proven the lease anew.
	frozen.Store(true)
	skew.Store(int64(cs[0].opts.LeaseTTL))
	if err := cs[0].Fence(); !errors.Is(err, hub.ErrNotLeader) {
		t.Fatalf("Fence after the lease's time passed: %v, want ErrNotLeader", err)
	}
	waitFor(t, "the lead func to stop", func() bool { return log.index("stop node-0") >= 0 })
}
