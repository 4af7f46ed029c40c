package e2e

// A hub cluster as processes: replicas of `omnitray-hub serve` on loopback
// forming their own cluster (the embedded NATS of sync/hub/cluster), the
// sandbox, and headless agents given every replica's URL. Each replica
// reaches the vendor fakes through links of its own that connect from a
// loopback address of its own (127.0.0.11, .12, …), so that the sandbox's
// call log, which records each call's client address, says which replica
// made a call: nothing in the hubs is changed or asked for that.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// clusterGuard bounds the cluster tests' waits. Replicas find each other
// and elect a leader within seconds; what takes longer is agents coming
// back after every replica was down at once: their backoff grows to the
// feed's 30 s cap meanwhile.
const clusterGuard = 60 * time.Second

// replica is one `omnitray-hub serve` of a cluster, with what a restart
// needs to start it again as it was.
type replica struct {
	c     *cluster
	name  string // --node-name
	url   string // the base URL agents are given
	route string // --cluster-listen
	ip    net.IP // the loopback address its vendor calls come from
	dir   string // --state-dir
	env   []string
	p     *proc
	// stopped is set while the process is SIGSTOPped: it cannot answer
	// /healthz then, and is not asked.
	stopped bool
}

// cluster is a stack whose hub is several replicas.
type cluster struct {
	*stack
	nodes []*replica
	tape  *callTape
	byIP  map[string]*replica
}

// clusterIP is the loopback address replica i calls the vendors from.
func clusterIP(i int) net.IP { return net.IPv4(127, 0, 0, byte(11+i)) }

// startCluster runs the sandbox (with edit's changes to the stack) and n
// replicas, and waits until they form one cluster with one leader.
func startCluster(t testing.TB, n int, edit func(*stack)) *cluster {
	t.Helper()
	needBinaries(t)
	s := &stack{t: t, env: procEnv(t), hubConfig: hubConfig}
	edit(s)
	// The vendor links call from 127.0.0.11 and up, which Linux routes to
	// lo; a system that does not is no place for this test.
	if ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: clusterIP(n - 1)}); err != nil {
		t.Skipf("cannot use loopback address %s for a replica's calls: %v", clusterIP(n-1), err)
	} else {
		ln.Close()
	}
	s.startSandbox()
	s.prepareHub()
	c := &cluster{stack: s, byIP: map[string]*replica{}, tape: newCallTape(s)}
	for i := range n {
		r := &replica{c: c, name: fmt.Sprintf("n%d", i+1), ip: clusterIP(i), dir: t.TempDir()}
		od := startLinkProxyFrom(t, hostOf(t, s.omnideskURL), r.ip)
		cp := startLinkProxyFrom(t, hostOf(t, s.chaportURL), r.ip)
		r.env = with(s.hubBase, "OMNIDESK_URL="+od.url(), "CHAPORT_URL="+cp.url())
		c.nodes = append(c.nodes, r)
		c.byIP[r.ip.String()] = r
	}
	for attempt := 1; ; attempt++ {
		// Ports are picked free and released before the replicas bind them,
		// and each replica must know the others' before any starts: if
		// another process took one meanwhile, all start again on new ones.
		for _, r := range c.nodes {
			r.url, r.route = "http://"+freePort(t), freePort(t)
		}
		for _, r := range c.nodes {
			r.start()
		}
		if c.waitFormed("the cluster to form") {
			return c
		}
		clash := false
		for _, r := range c.nodes {
			clash = clash || strings.Contains(r.p.stderr.String(), "address already in use")
			r.p.kill()
		}
		if attempt == 3 || !clash {
			t.Fatalf("the cluster did not form (see the replicas' logs)")
		}
	}
}

func hostOf(t testing.TB, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// start runs the replica's process, as the first time or a restart.
func (r *replica) start() {
	var peers []string
	for _, o := range r.c.nodes {
		if o != r {
			peers = append(peers, o.route)
		}
	}
	r.p = startProc(r.c.t, r.env, hubBin, "serve", "--node-name", r.name,
		"--listen", strings.TrimPrefix(r.url, "http://"), "--cluster-listen", r.route,
		"--cluster-peers", strings.Join(peers, ","), "--state-dir", r.dir)
	r.p.name += " " + r.name
	r.stopped = false
}

// kill ends the replica with SIGKILL, as a crash or the OOM killer would.
func (r *replica) kill() { r.p.kill() }

// freeze and thaw send SIGSTOP and SIGCONT: a replica stalled (a long GC
// pause, a VM migration, a debugger) that then carries on as if no time
// had passed.
func (r *replica) freeze() {
	r.p.signal(r.c.t, syscall.SIGSTOP)
	r.stopped = true
}

func (r *replica) thaw() {
	r.p.signal(r.c.t, syscall.SIGCONT)
	r.stopped = false
}

// live reports whether the replica's process runs and is not stopped.
func (r *replica) live() bool { return !r.p.exited() && !r.stopped }

// replicaHealth is the part of a replica's /healthz the tests read.
type replicaHealth struct {
	code    int
	OK      bool   `json:"ok"`
	Agents  int    `json:"agents"`
	Role    string `json:"role"`
	Cluster struct {
		Node            string `json:"node"`
		Role            string `json:"role"`
		Leader          string `json:"leader"`
		ClusterSize     int    `json:"cluster_size"`
		LeaderReachable bool   `json:"leader_reachable"`
	} `json:"cluster"`
}

// healthc gives up sooner than httpc: a replica that does not answer in
// two seconds is as good as down for the waits that ask it.
var healthc = &http.Client{Timeout: 2 * time.Second}

// health asks the replica's /healthz; false if it did not answer.
func (r *replica) health() (replicaHealth, bool) {
	var h replicaHealth
	if !r.live() {
		return h, false
	}
	resp, err := healthc.Get(r.url + "/healthz")
	if err != nil {
		return h, false
	}
	defer resp.Body.Close()
	h.code = resp.StatusCode
	return h, json.NewDecoder(resp.Body).Decode(&h) == nil
}

// live lists the replicas whose processes run and are not stopped.
func (c *cluster) live() []*replica {
	var out []*replica
	for _, r := range c.nodes {
		if r.live() {
			out = append(out, r)
		}
	}
	return out
}

// view is one look at every live replica's /healthz: the leader they all
// agree on (nil if they do not, or if one is not ready or does not see
// size replicas; size 0 takes any), and the view as a line for a failure
// message.
func (c *cluster) view(size int) (*replica, string) {
	var leader *replica
	agree := true
	var parts []string
	for _, r := range c.live() {
		h, ok := r.health()
		if !ok {
			parts = append(parts, r.name+": no answer")
			agree = false
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %d %s, leader %q, size %d, %d agents", r.name, h.code, h.Role,
			h.Cluster.Leader, h.Cluster.ClusterSize, h.Agents))
		if h.code != http.StatusOK || (size > 0 && h.Cluster.ClusterSize != size) || h.Cluster.Leader == "" {
			agree = false
			continue
		}
		l := c.node(h.Cluster.Leader)
		if l == nil || (leader != nil && l != leader) || (h.Role == "leader") != (l == r) {
			agree = false
			continue
		}
		leader = l
	}
	if !agree || leader == nil || !leader.live() {
		return nil, strings.Join(parts, "; ")
	}
	return leader, strings.Join(parts, "; ")
}

func (c *cluster) node(name string) *replica {
	for _, r := range c.nodes {
		if r.name == name {
			return r
		}
	}
	return nil
}

// waitFormed waits until every replica is ready (/healthz 200, a complete
// staff poll), sees all of them, and all agree on one leader; and until a
// replica has read Chaport's operators (the links need them). False if a
// replica exited or clusterGuard passed.
func (c *cluster) waitFormed(what string) bool {
	c.t.Helper()
	var last string
	ok := within(clusterGuard, func() bool {
		for _, r := range c.nodes {
			if r.p.exited() {
				return true
			}
		}
		leader, v := c.view(len(c.nodes))
		last = v
		return leader != nil && len(c.live()) == len(c.nodes) && c.operatorsRead()
	})
	for _, r := range c.nodes {
		if r.p.exited() {
			c.t.Logf("waiting for %s: replica %s exited (code %d)", what, r.name, r.p.exitCode())
			return false
		}
	}
	if !ok {
		c.t.Logf("waiting for %s: not after %v; replicas: %s", what, clusterGuard, last)
	}
	return ok
}

// leader waits until the live replicas agree on a leader among them, each
// seeing size replicas (0: any number), and returns it.
func (c *cluster) leader(size int) *replica {
	c.t.Helper()
	var leader *replica
	var last string
	if !within(clusterGuard, func() bool {
		leader, last = c.view(size)
		return leader != nil
	}) {
		c.t.Fatalf("the live replicas agree on no leader after %v: %s", clusterGuard, last)
	}
	return leader
}

// mustForm is waitFormed that fails the test.
func (c *cluster) mustForm(what string) {
	c.t.Helper()
	if !c.waitFormed(what) {
		c.t.Fatalf("%s: the cluster did not form again", what)
	}
}

// urlsFrom is the --hub list starting at replica first, then the others in
// order: the agent's preferred replica, then where it fails over to.
func (c *cluster) urlsFrom(first int) string {
	var urls []string
	for i := range c.nodes {
		urls = append(urls, c.nodes[(first+i)%len(c.nodes)].url)
	}
	return strings.Join(urls, ",")
}

// sessions is how many agent sessions the live replicas hold, by their
// /healthz.
func (c *cluster) sessions() int {
	n := 0
	for _, r := range c.live() {
		if h, ok := r.health(); ok {
			n += h.Agents
		}
	}
	return n
}

// clusterAgent is one employee's headless agent on the cluster.
type clusterAgent struct {
	c     *cluster
	staff int64
	op    string
	first *replica // its first --hub URL
	env   []string
	args  []string // of `omnitray`, for a restart
	p     *proc
}

// start runs the agent's process, as the first time or a restart.
func (a *clusterAgent) start() {
	a.p = startProc(a.c.t, a.env, omnitrayBin, a.args...)
	a.p.name += " " + strconv.FormatInt(a.staff, 10)
}

// startAgents runs a headless agent for each staff member with args, the
// first URL of its --hub list going round the replicas, and waits until
// every one is connected. Each has its own runtime directory: one agent
// per user and computer otherwise.
func (c *cluster) startAgents(staff []int64, ops map[int64]string, args ...string) []*clusterAgent {
	c.t.Helper()
	tokens := make([]string, len(staff))
	var wg sync.WaitGroup
	for i, id := range staff {
		wg.Go(func() { tokens[i] = c.token(id) })
	}
	wg.Wait()
	agents := make([]*clusterAgent, len(staff))
	for i, id := range staff {
		a := &clusterAgent{c: c, staff: id, op: ops[id], first: c.nodes[i%len(c.nodes)]}
		a.env = with(c.env, "OMNITRAY_TOKEN="+tokens[i], "XDG_RUNTIME_DIR="+c.t.TempDir())
		a.args = append([]string{"run", "--headless", "--hub", c.urlsFrom(i % len(c.nodes)),
			"--computer-name", "agent-" + strconv.FormatInt(id, 10)}, args...)
		a.start()
		agents[i] = a
	}
	for _, a := range agents {
		if !within(clusterGuard, func() bool {
			if a.p.exited() {
				c.t.Fatalf("the agent of staff %d exited (code %d):\n%s", a.staff, a.p.exitCode(), a.p.stderr.String())
			}
			st, ok := readAgent(c.t, a.env)
			return ok && st.Connection == "connected"
		}) {
			c.t.Fatalf("the agent of staff %d did not connect:\n%s", a.staff, a.p.stderr.String())
		}
	}
	return agents
}

// states reads every agent's `omnitray status --json`, a few at a time.
func states(t testing.TB, agents []*clusterAgent) []agentState {
	out := make([]agentState, len(agents))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], _ = readAgent(t, a.env)
		})
	}
	wg.Wait()
	return out
}

// roster maps the sandbox's staff to their Chaport operators by e-mail, as
// the hub links them.
func (s *stack) roster() map[int64]string {
	var st struct {
		Staff []struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
		} `json:"staff"`
		Operators []struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"operators"`
	}
	s.control("GET", "/_sandbox/state", nil, &st)
	byEmail := map[string]string{}
	for _, o := range st.Operators {
		byEmail[strings.ToLower(o.Email)] = o.ID
	}
	out := map[int64]string{}
	for _, x := range st.Staff {
		if op, ok := byEmail[strings.ToLower(x.Email)]; ok {
			out[x.ID] = op
		}
	}
	return out
}

// sortedKeys is m's keys in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
