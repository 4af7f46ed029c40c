package hubtest

import (
	"context"
	"strings"
	"sync"

	"github.com/omnitray/omnitray/sync/hub"
)

// Cluster is an in-process stand-in for the replicas' engine
// (sync/hub/cluster runs the real one on NATS): it lets a unit test run two
// or three hubs as replicas in one process and choose which one leads.
// Messages and shared-state changes reach each subscriber in order, on a
// goroutine of its own, as they would over a network.
type Cluster struct {
	mu      sync.Mutex
	leader  string
	cancel  context.CancelFunc // ends the leader's term
	nodes   map[string]*fakeReplica
	state   map[string][]byte
	subs    []*fakeFeed // subscriptions and watches
	servers map[string]func(context.Context, []byte) []byte
}

// NewCluster starts an engine with no replica yet.
func NewCluster() *Cluster {
	return &Cluster{nodes: map[string]*fakeReplica{}, state: map[string][]byte{},
		servers: map[string]func(context.Context, []byte) []byte{}}
}

// Replica is node's handle on the cluster, for hub.Config.Replicas.
func (c *Cluster) Replica(node string) hub.Replicas {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &fakeReplica{c: c, node: node, terms: make(chan context.Context, 1)}
	c.nodes[node] = r
	return r
}

// Elect ends the current leader's term and starts node's ("" leaves the
// cluster without a leader).
func (c *Cluster) Elect(node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	c.leader = node
	if node == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	r := c.nodes[node]
	select {
	case <-r.terms: // an unstarted term is replaced
	default:
	}
	r.terms <- ctx
}

// Leader names the leader ("" for none).
func (c *Cluster) Leader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader
}

// State returns a shared key's value (nil if never put).
func (c *Cluster) State(key string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state[key]
}

type fakeReplica struct {
	c     *Cluster
	node  string
	terms chan context.Context
}

// fakeFeed delivers one subscription's messages in order.
type fakeFeed struct {
	node, subject string
	prefix        bool // a watch: subject is a key prefix
	ch            chan [2][]byte
}

func (r *fakeReplica) Node() string { return r.node }

func (r *fakeReplica) Lead(ctx context.Context, lead func(context.Context)) {
	for {
		select {
		case <-ctx.Done():
			return
		case term := <-r.terms:
			tctx, cancel := context.WithCancel(ctx)
			stop := context.AfterFunc(term, cancel)
			lead(tctx)
			stop()
			cancel()
		}
	}
}

func (r *fakeReplica) Fence() error {
	if r.c.Leader() != r.node {
		return hub.ErrNotLeader
	}
	return nil
}

func (r *fakeReplica) Publish(subject string, data []byte) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	for _, f := range r.c.subs {
		if !f.prefix && f.subject == subject && f.node != r.node {
			f.ch <- [2][]byte{nil, append([]byte(nil), data...)}
		}
	}
	return nil
}

func (r *fakeReplica) subscribe(ctx context.Context, f *fakeFeed, handle func(key string, data []byte)) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-f.ch:
				handle(string(m[0]), m[1])
			}
		}
	}()
	context.AfterFunc(ctx, func() {
		r.c.mu.Lock()
		defer r.c.mu.Unlock()
		for i, s := range r.c.subs {
			if s == f {
				r.c.subs = append(r.c.subs[:i], r.c.subs[i+1:]...)
				return
			}
		}
	})
}

func (r *fakeReplica) Subscribe(ctx context.Context, subject string, handle func([]byte)) error {
	f := &fakeFeed{node: r.node, subject: subject, ch: make(chan [2][]byte, 4096)}
	r.c.mu.Lock()
	r.c.subs = append(r.c.subs, f)
	r.c.mu.Unlock()
	r.subscribe(ctx, f, func(_ string, data []byte) { handle(data) })
	return nil
}

func (r *fakeReplica) Serve(ctx context.Context, subject string, handle func(context.Context, []byte) []byte) error {
	r.c.mu.Lock()
	r.c.servers[subject] = handle
	r.c.mu.Unlock()
	context.AfterFunc(ctx, func() {
		r.c.mu.Lock()
		defer r.c.mu.Unlock()
		delete(r.c.servers, subject)
	})
	return nil
}

func (r *fakeReplica) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	r.c.mu.Lock()
	handle := r.c.servers[subject]
	r.c.mu.Unlock()
	if handle == nil {
		return nil, hub.ErrNoResponder
	}
	return handle(ctx, data), nil
}

func (r *fakeReplica) Get(_ context.Context, key string) ([]byte, error) {
	if v := r.c.State(key); v != nil {
		return v, nil
	}
	return nil, hub.ErrNoState
}

func (r *fakeReplica) Put(_ context.Context, key string, data []byte) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	v := append([]byte(nil), data...)
	r.c.state[key] = v
	for _, f := range r.c.subs {
		if f.prefix && strings.HasPrefix(key, f.subject) {
			f.ch <- [2][]byte{[]byte(key), v}
		}
	}
	return nil
}

func (r *fakeReplica) Watch(ctx context.Context, prefix string, handle func(string, []byte)) error {
	f := &fakeFeed{node: r.node, subject: prefix, prefix: true, ch: make(chan [2][]byte, 4096)}
	r.c.mu.Lock()
	var now [][2][]byte
	for k, v := range r.c.state {
		if strings.HasPrefix(k, prefix) {
			now = append(now, [2][]byte{[]byte(k), v})
		}
	}
	r.c.subs = append(r.c.subs, f)
	r.c.mu.Unlock()
	for _, m := range now {
		handle(string(m[0]), m[1])
	}
	r.subscribe(ctx, f, handle)
	return nil
}

func (r *fakeReplica) Health() hub.ReplicaHealth {
	leader := r.c.Leader()
	role := hub.RoleFollower
	if leader == r.node {
		role = hub.RoleLeader
	}
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	return hub.ReplicaHealth{Node: r.node, Role: role, Leader: leader, ClusterSize: len(r.c.nodes),
		LeaderReachable: leader != ""}
}
