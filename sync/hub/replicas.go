package hub

import (
	"context"
	"errors"
)

// Replicas links a hub to the other replicas of its cluster; sync/hub/cluster
// implements it on NATS (embedded nats-server, or a company's own). A hub
// whose Config has none is alone: it leads itself, and nothing here is used.
//
// The interface is deliberately small and says nothing of NATS, so that
// this package (which the employee's binary links for the demo) does not
// pull in the NATS server, and so that the hub's tests can run it on an
// in-process fake.
type Replicas interface {
	// Node is this replica's name (unique in the cluster).
	Node() string
	// Lead calls lead each time this replica is elected leader, with a
	// context that ends as soon as it may no longer be: the lease was lost,
	// or was not renewed in time for this replica to be sure no other has
	// taken it. Lead returns when ctx ends.
	Lead(ctx context.Context, lead func(ctx context.Context))
	// Fence returns nil while this replica's leadership is proven, that is
	// its lease was renewed recently enough that no other replica can have
	// been elected since. The leader checks it right before each Omnidesk
	// call: a replica frozen (SIGSTOP) after the check in its loop must not
	// poll beside the new leader when it wakes.
	Fence() error
	// Publish sends data to the other replicas' Subscribe on subject.
	Publish(subject string, data []byte) error
	// Subscribe calls handle, one message at a time in the order each
	// publisher sent them, for what the other replicas publish on subject,
	// until ctx ends. It returns once the subscription is in place.
	Subscribe(ctx context.Context, subject string, handle func(data []byte)) error
	// Serve answers requests on subject while ctx lives; Request sends one
	// to the replica serving it and waits for its answer (ErrNoResponder
	// when none serves it).
	Serve(ctx context.Context, subject string, handle func(ctx context.Context, data []byte) []byte) error
	Request(ctx context.Context, subject string, data []byte) ([]byte, error)
	// Get, Put and Watch are the cluster's shared, replicated state. Get
	// returns ErrNoState for a key never put. Watch calls handle with every
	// key under prefix as it is now, then with each later put, until ctx
	// ends; it returns once the current values were handed over.
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, data []byte) error
	Watch(ctx context.Context, prefix string, handle func(key string, data []byte)) error
	// Health is this replica's view of the cluster, for /healthz.
	Health() ReplicaHealth
}

// ReplicaHealth is what /healthz says of the cluster.
type ReplicaHealth struct {
	Node string `json:"node"`
	// Role is RoleLeader or RoleFollower.
	Role string `json:"role"`
	// Leader names the leader as this replica last saw it ("" if none).
	Leader string `json:"leader,omitempty"`
	// ClusterSize counts the replicas this one sees, itself included.
	ClusterSize int `json:"cluster_size"`
	// LeaderReachable: the leader's lease is live in the shared state and
	// this replica can read it.
	LeaderReachable bool `json:"leader_reachable"`
}

// Roles in ReplicaHealth.
const (
	RoleLeader   = "leader"
	RoleFollower = "follower"
)

var (
	// ErrNoState is Get's answer for a key that was never put.
	ErrNoState = errors.New("no such shared state")
	// ErrNoResponder is Request's answer when no replica serves the subject
	// (no leader at the moment).
	ErrNoResponder = errors.New("no replica answers")
	// ErrNotLeader is Fence's answer once leadership is not proven.
	ErrNotLeader = errors.New("this replica is not the proven leader")
)
