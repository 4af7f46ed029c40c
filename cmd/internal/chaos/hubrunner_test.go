package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/cluster"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// ── the hubs: one, or the replicas of a cluster; each restartable on its addresses ──

// hubLife is one hub instance's life (in a cluster, one replica process's);
// ready is set by watchReady, read only after readyDone is closed.
type hubLife struct {
	node               *hubNode
	start, ready, stop time.Time
	readyDone          chan struct{}
}

// hubNode is the place of one hub process: what a restart keeps (its name,
// its HTTP and route addresses, its state directory) and what it replaces
// (the hub and its link to the cluster).
type hubNode struct {
	name string
	addr string // HTTP; 127.0.0.1:0 until the first start picks a port
	// route is the embedded NATS server's route address and peers the
	// other replicas'; both empty for a hub alone.
	route    string
	peers    []string
	stateDir string
	lives    []*hubLife

	cl     *cluster.Cluster // nil for a hub alone
	run    *hubtest.Running
	cancel context.CancelFunc // ends the current life's readiness watch
}

func (n *hubNode) life() *hubLife { return n.lives[len(n.lives)-1] }

// hubRunner runs the phase's hubs: one hub alone, or the replicas of a
// cluster, each a hub built as omnitray-hub builds it, all in this process.
type hubRunner struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	log   *hubLog
	nodes []*hubNode
	// lives are every node's lives in the order they started.
	lives    []*hubLife
	restarts []restartRec
}

// newHubRunner prepares n hubs: one alone if n is 1, else n replicas of a
// cluster with route ports on loopback.
func newHubRunner(t *testing.T, sb *sandbox.Sandbox, n int) *hubRunner {
	r := &hubRunner{t: t, sb: sb, log: &hubLog{}}
	var routes []string
	if n > 1 {
		// Free ports for the routes: held until all are chosen, so that no
		// two are the same, then let go for the servers. A restart takes
		// its node's port again.
		var held []net.Listener
		for range n {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			routes, held = append(routes, ln.Addr().String()), append(held, ln)
		}
		for _, ln := range held {
			_ = ln.Close()
		}
	}
	for i := range n {
		node := &hubNode{name: "hub-" + strconv.Itoa(i), addr: "127.0.0.1:0", stateDir: t.TempDir()}
		if n > 1 {
			node.route = routes[i]
			for j, p := range routes {
				if j != i {
					node.peers = append(node.peers, p)
				}
			}
		}
		r.nodes = append(r.nodes, node)
	}
	return r
}

// clustered says whether the hubs are replicas of a cluster.
func (r *hubRunner) clustered() bool { return len(r.nodes) > 1 }

// urls is the agents' HubURL: every hub's base URL, comma-separated, the
// list starting at hub first%n, so that agents spread their first choice
// over the replicas (each replica then holds sessions of its own).
func (r *hubRunner) urls(first int) string {
	out := make([]string, 0, len(r.nodes))
	for i := range r.nodes {
		out = append(out, "http://"+r.nodes[(first+i)%len(r.nodes)].addr)
	}
	return strings.Join(out, ",")
}

// startAll starts every hub. Replicas start side by side, as processes
// started together would: each one's link to the cluster and its hub's
// first reads of shared state wait for the others.
func (r *hubRunner) startAll() error {
	hubs := make([]*hub.Hub, len(r.nodes))
	errs := make(chan error, len(r.nodes))
	for i, n := range r.nodes {
		go func() {
			var err error
			if n.route != "" {
				if n.cl, err = r.join(n); err != nil {
					errs <- err
					return
				}
			}
			hubs[i], err = r.build(n)
			errs <- err
		}()
	}
	var failed error
	for range r.nodes {
		if err := <-errs; err != nil && failed == nil {
			failed = err
		}
	}
	if failed != nil {
		for _, n := range r.nodes {
			if n.cl != nil {
				n.cl.Close()
			}
		}
		return failed
	}
	for i, n := range r.nodes {
		if err := r.serve(n, hubs[i]); err != nil {
			return err
		}
	}
	return nil
}

// start starts one hub: a replica's link to the cluster, then its hub.
func (r *hubRunner) start(n *hubNode) error {
	if n.route != "" {
		cl, err := r.join(n)
		if err != nil {
			return err
		}
		n.cl = cl
	}
	h, err := r.build(n)
	if err != nil {
		return err
	}
	return r.serve(n, h)
}

// join starts n's link to the cluster as omnitray-hub does: an embedded
// NATS server on n's route address with JetStream's storage in n's state
// directory, routed to the other replicas.
func (r *hubRunner) join(n *hubNode) (*cluster.Cluster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupLimit)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{NodeName: n.name, ClusterListen: n.route, ClusterPeers: n.peers,
		StateDir: n.stateDir, Logger: slog.New(r.log)})
	if err != nil {
		return nil, fmt.Errorf("%s joining the cluster: %w", n.name, err)
	}
	return c, nil
}

// build builds a new hub for n (new clients, new pacer, as a new process
// would have). A hub alone keeps only its learned budget across restarts,
// in its budget file; a replica keeps its whole state directory, as
// omnitray-hub's --state-dir does, and shares the rest through the
// cluster.
func (r *hubRunner) build(n *hubNode) (*hub.Hub, error) {
	h, err := hubtest.Build(hub.Vendors(r.sb.Endpoints()), hubFile, func(c *hub.Config) {
		c.Secret, c.Logger = hubSecret, slog.New(r.log)
		if n.cl != nil {
			c.StateDir, c.Replicas = n.stateDir, n.cl
		} else {
			c.BudgetFile = filepath.Join(n.stateDir, hub.BudgetFileName)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", n.name, err)
	}
	return h, nil
}

// serve runs h on n's address, retrying the listen while the old socket
// is still being released.
func (r *hubRunner) serve(n *hubNode, h *hub.Hub) error {
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", n.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("listening on %s: %w", n.addr, err)
	}
	n.addr = ln.Addr().String()
	life := &hubLife{node: n, start: time.Now(), readyDone: make(chan struct{})}
	n.lives = append(n.lives, life)
	r.lives = append(r.lives, life)
	ctx, cancel := context.WithCancel(context.Background())
	n.run = hubtest.ServeOn(r.t, ctx, h, ln)
	go watchReady(ctx, n.run.URL+"/healthz", len(r.nodes), life)
	n.cancel = cancel
	return nil
}

// health is what the chaos run reads of /healthz.
type health struct {
	Role    string `json:"role"`
	Cluster struct {
		ClusterSize int `json:"cluster_size"`
	} `json:"cluster"`
}

// getHealth reads a hub's /healthz; ok is its answer was 200.
func getHealth(ctx context.Context, hc *http.Client, url string) (h health, ok bool, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return h, false, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&h)
	return h, resp.StatusCode == http.StatusOK, err
}

// watchReady records when the hub first answers /healthz with 200 (its
// first staff poll went through; a follower's, the leader's first whole
// poll reached it) and, in a cluster of size replicas, sees all of them:
// what an operator restarting replicas one by one waits for before the
// next.
func watchReady(ctx context.Context, url string, size int, life *hubLife) {
	defer close(life.readyDone)
	hc := &http.Client{Timeout: time.Second}
	for ctx.Err() == nil {
		h, ok, err := getHealth(ctx, hc, url)
		if err == nil && ok && (size == 1 || h.Cluster.ClusterSize == size) {
			life.ready = time.Now()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopNode ends n's hub as a process exit would: its pollers stop, its
// port closes and every agent's connection drops; then, for a replica, it
// leaves the cluster (Close gives the lead up, so that another replica
// takes over at once) and its NATS server stops, as omnitray-hub does on
// SIGTERM.
func (r *hubRunner) stopNode(n *hubNode) {
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.run.Stop()
	life := n.life()
	life.stop = time.Now()
	<-life.readyDone
	n.cancel = nil
	if n.cl != nil {
		n.cl.Close()
		n.cl = nil
	}
}

// stop ends every hub: first all of them, then their links to the cluster,
// so that no replica goes on alone without a quorum while another stops.
func (r *hubRunner) stop() {
	var cls []*cluster.Cluster
	for _, n := range r.nodes {
		cls = append(cls, n.cl)
		n.cl = nil // left to the loop below
		r.stopNode(n)
	}
	for _, c := range cls {
		if c != nil {
			c.Close()
		}
	}
}

// minServing is how long the hubs serve before the test restarts one:
// agents reconnect within maxBackoff, so by then they are all back.
const minServing = maxBackoff

// waitServing waits until at, and until the hubs have served agents for
// minServing, so that every restart cuts off connected agents rather than
// a hub nobody reached yet. A hub alone serves from when it is ready. In
// a cluster the agents a restart cut off are served by the other replicas
// from then on, so minServing counts from the last restart's stop (or the
// cluster's set-up); but every replica must be ready again first, the
// restarted one back in the cluster (cluster_size 3), as in a rolling
// restart: two replicas down would leave no quorum. It returns false if
// ctx ends first.
func (r *hubRunner) waitServing(ctx context.Context, at time.Time) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(at)):
	}
	var since time.Time
	for _, n := range r.nodes {
		life := n.life()
		select {
		case <-ctx.Done():
			return false
		case <-life.readyDone:
		}
		if life.ready.IsZero() {
			return false // the hub stopped before it was ready; cannot happen here
		}
		if r.clustered() {
			since = later(since, n.lives[0].ready)
		} else {
			since = life.ready
		}
	}
	if r.clustered() && len(r.restarts) > 0 {
		since = later(since, r.restarts[len(r.restarts)-1].stop)
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(since.Add(minServing))):
		return true
	}
}

// restartRec is one restart: which hub, when it stopped, and the staff
// whose agents it cut off (connected to it just before).
type restartRec struct {
	node   *hubNode
	leader bool
	stop   time.Time
	cut    map[int64]bool
}

// restart restarts one hub: the only one, or in a cluster the leader on
// the first restart and a follower holding agents on the later ones (not
// the replica restarted last, which its agents left for the others).
// connectedTo names the staff whose agents are connected to a hub (by its
// host:port).
func (r *hubRunner) restart(i int, connectedTo func(addr string) map[int64]bool) {
	n := r.nodes[0]
	rec := restartRec{leader: true}
	if r.clustered() {
		leader := r.leader()
		if leader == nil {
			r.t.Errorf("restart %d: no replica says it leads the cluster (/healthz role) within %v", i, leaderLimit)
			leader = r.nodes[0]
		}
		n = leader
		if i > 1 {
			last := r.lives[len(r.lives)-1].node
			for _, o := range r.nodes {
				if o != leader && o != last {
					n = o
					break
				}
			}
		}
		rec.leader = n == leader
	}
	rec.node, rec.cut = n, connectedTo(n.addr)
	r.stopNode(n)
	rec.stop = n.life().stop
	r.restarts = append(r.restarts, rec)
	if r.clustered() {
		role := "a follower"
		if rec.leader {
			role = "the leader"
		}
		r.t.Logf("restart %d: %s (%s, %d agents connected) stopped at %s", i, n.name, role, len(rec.cut),
			rec.stop.Format("15:04:05.000"))
	}
	time.Sleep(restartDowntime)
	if err := r.start(n); err != nil {
		r.t.Errorf("restarting %s: %v", n.name, err)
	}
}

// restartStops are the moments the test stopped a hub to restart it, in
// order.
func (r *hubRunner) restartStops() []time.Time {
	var out []time.Time
	for _, rec := range r.restarts {
		out = append(out, rec.stop)
	}
	return out
}

// leaderLimit bounds the wait for a replica to say it leads: a lease's
// life (3 s) plus an election, with room for a loaded machine.
const leaderLimit = 15 * time.Second

// leader is the replica whose /healthz says it leads, nil if none says so
// within leaderLimit.
func (r *hubRunner) leader() *hubNode {
	hc := &http.Client{Timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), leaderLimit)
	defer cancel()
	for ctx.Err() == nil {
		for _, n := range r.nodes {
			if h, _, err := getHealth(ctx, hc, n.run.URL+"/healthz"); err == nil && h.Role == hub.RoleLeader {
				return n
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
