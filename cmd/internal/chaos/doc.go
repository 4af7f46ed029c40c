// Package chaos holds the chaos test of Omnitray (TestChaos): the sandbox,
// the hub and 100 agents, all in one process on loopback and on the wall
// clock, first fault-free for a baseline, then with 30 % injected faults on
// both vendor APIs (5xx, 429 with Retry-After, connection resets, 0–2 s
// latency) and two hub restarts on the same address, while a driver flips
// random Omnidesk staff statuses. After the faults stop it checks that
// every Chaport operator ends where its staff status says, that no final
// transition was lost, that Chaport writes stay within twice the baseline
// and that the hub never spent more Omnidesk budget than allowed.
//
// It runs twice, once per topology: one hub alone, and three hub replicas
// of a cluster (each with its own embedded NATS server and HTTP port; the
// agents list all three), where a restart is one replica's, the leader's
// first. With the cluster the Omnidesk share is the whole cluster's, and
// the agents a restart cuts off must keep their leases through the other
// replicas.
//
// `make test` runs a short version (CHAOS_DURATION, default 8s per phase)
// under the race detector; `make chaos` runs 5 minutes per phase. The
// package has no non-test code besides this comment.
package chaos
