//go:build unix

package cluster

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run each replica as its own process (this test binary,
// started again as a node) so that a leader can be SIGKILLed or SIGSTOPped
// as in production. They take a minute or more, so they run only when
// OMNITRAY_CLUSTER_PROCESS_TEST is set:
//
//	OMNITRAY_CLUSTER_PROCESS_TEST=1 go test -run Process -v ./sync/hub/cluster/

func TestMain(m *testing.M) {
	if os.Getenv("OMNITRAY_CLUSTER_NODE") != "" {
		os.Exit(runNode())
	}
	os.Exit(m.Run())
}

// runNode is one replica: it prints "ready", "lead <ns>" as its lead func
// starts, and "poll <ns>" for each time its fenced work runs, as the hub's
// poller would, every 50ms.
func runNode() int {
	opts := Options{NodeName: os.Getenv("OMNITRAY_CLUSTER_NODE"), ClusterListen: os.Getenv("OMNITRAY_CLUSTER_LISTEN"),
		ClusterPeers: strings.Split(os.Getenv("OMNITRAY_CLUSTER_PEERS"), ","), StateDir: os.Getenv("OMNITRAY_CLUSTER_DIR"),
		Logger: testLogger(), keepKVLeaders: os.Getenv("OMNITRAY_CLUSTER_KEEP_KV_LEADERS") != ""}
	ctx := context.Background()
	c, err := Start(ctx, opts)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	if err := c.waitReady(ctx); err != nil {
		fmt.Println("error", err)
		return 1
	}
	var out sync.Mutex
	say := func(format string, a ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf(format+"\n", a...)
	}
	say("ready")
	c.Lead(ctx, func(ctx context.Context) {
		say("lead %d", time.Now().UnixNano())
		for {
			if c.Fence() == nil {
				say("poll %d", time.Now().UnixNano())
			}
			if !sleep(ctx, 50*time.Millisecond) {
				return
			}
		}
	})
	return 0
}

type nodeEvent struct {
	node int
	kind string
	at   time.Time
}

type procCluster struct {
	t      *testing.T
	opts   []Options
	env    [][]string
	procs  []*exec.Cmd
	events chan nodeEvent
}

func startProcs(t *testing.T, n int, extraEnv ...string) *procCluster {
	pc := &procCluster{t: t, opts: clusterOptions(t, n), procs: make([]*exec.Cmd, n),
		events: make(chan nodeEvent, 1000)}
	for i, o := range pc.opts {
		pc.env = append(pc.env, append([]string{"OMNITRAY_CLUSTER_NODE=" + o.NodeName,
			"OMNITRAY_CLUSTER_LISTEN=" + o.ClusterListen, "OMNITRAY_CLUSTER_PEERS=" + strings.Join(o.ClusterPeers, ","),
			"OMNITRAY_CLUSTER_DIR=" + o.StateDir}, extraEnv...))
		pc.start(i)
	}
	t.Cleanup(func() {
		for _, p := range pc.procs {
			if p != nil && p.Process != nil {
				_ = p.Process.Signal(syscall.SIGCONT)
				_ = p.Process.Kill()
				_ = p.Wait()
			}
		}
	})
	return pc
}

func (pc *procCluster) start(i int) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), pc.env[i]...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		pc.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		pc.t.Fatal(err)
	}
	pc.procs[i] = cmd
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			ev := nodeEvent{node: i, kind: f[0], at: time.Now()}
			if len(f) > 1 {
				if ns, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					ev.at = time.Unix(0, ns)
				}
			}
			pc.events <- ev
		}
	}()
}

// next waits for an event that match accepts.
func (pc *procCluster) next(what string, match func(nodeEvent) bool) nodeEvent {
	pc.t.Helper()
	timeout := time.After(2 * patience)
	for {
		select {
		case ev := <-pc.events:
			if match(ev) {
				return ev
			}
		case <-timeout:
			pc.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func processTests(t *testing.T) {
	if os.Getenv("OMNITRAY_CLUSTER_PROCESS_TEST") == "" {
		t.Skip("set OMNITRAY_CLUSTER_PROCESS_TEST=1 to run replicas as processes")
	}
}

// A SIGKILLed leader is replaced, and its killed replica rejoins. The log
// says how long each failover took (kill → the next lead func called).
func TestProcessKilledLeaderIsReplaced(t *testing.T) {
	processTests(t)
	var extra []string
	if os.Getenv("OMNITRAY_CLUSTER_KEEP_KV_LEADERS") != "" {
		extra = append(extra, "OMNITRAY_CLUSTER_KEEP_KV_LEADERS=1")
	}
	pc := startProcs(t, 3, extra...)
	ready := 0
	lead := pc.next("a leader", func(ev nodeEvent) bool {
		if ev.kind == "ready" {
			ready++
		}
		return ev.kind == "lead"
	})
	runs := 5
	if s := os.Getenv("OMNITRAY_CLUSTER_KILLS"); s != "" {
		runs, _ = strconv.Atoi(s)
	}
	var took []time.Duration
	for range runs {
		// Let the leader settle (its KV leaders moved off) and the others
		// all be up, as between two real failures; killed at any point
		// between two renewals.
		time.Sleep(4*time.Second + rand.N(750*time.Millisecond))
		killed := lead.node
		at := time.Now()
		if err := pc.procs[killed].Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = pc.procs[killed].Wait()
		lead = pc.next("another leader", func(ev nodeEvent) bool { return ev.kind == "lead" && ev.node != killed })
		took = append(took, lead.at.Sub(at))
		t.Logf("node %d killed: node %d leads after %v", killed, lead.node, lead.at.Sub(at).Round(time.Millisecond))
		pc.start(killed)
		pc.next("the killed node to rejoin", func(ev nodeEvent) bool { return ev.kind == "ready" && ev.node == killed })
	}
	slices.Sort(took)
	t.Logf("failovers after SIGKILL: %v (median %v)", took, took[len(took)/2])
}

// A SIGSTOPped leader is replaced; SIGCONTed, it does not do its fenced
// work beside the new leader.
func TestProcessFrozenLeaderDoesNotPollWhenItWakes(t *testing.T) {
	processTests(t)
	pc := startProcs(t, 3)
	lead := pc.next("a leader", func(ev nodeEvent) bool { return ev.kind == "lead" })
	time.Sleep(4 * time.Second)
	old := lead.node
	stopped := time.Now()
	if err := pc.procs[old].Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	next := pc.next("another leader", func(ev nodeEvent) bool { return ev.kind == "lead" && ev.node != old })
	t.Logf("node %d stopped: node %d leads after %v", old, next.node, next.at.Sub(stopped).Round(time.Millisecond))
	time.Sleep(time.Second)
	woke := time.Now()
	if err := pc.procs[old].Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Watch everyone's polls for a while: after the wake, only the new
	// leader's.
	deadline := time.After(5 * time.Second)
	newPolls := 0
	for {
		select {
		case ev := <-pc.events:
			if ev.kind != "poll" {
				continue
			}
			if ev.node == next.node {
				newPolls++
			} else if !ev.at.Before(woke) {
				t.Fatalf("node %d polled at %v, after it woke, beside the new leader", ev.node, ev.at)
			}
		case <-deadline:
			if newPolls == 0 {
				t.Fatal("the new leader did not poll")
			}
			return
		}
	}
}
