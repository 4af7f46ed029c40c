//go:build linux

package hub_test

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/cluster"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// BenchmarkHubFanout5000Replicas3 is BenchmarkHubFanout5000 with the hub run
// as three replicas on the real engine (embedded NATS routed on loopback, in
// this process) and the 5,000 agents spread over them: one replica polls,
// and a change reaches the agents of the other two through it. hub-p99-ms
// is the fan-out across replicas (from the leader's read of the page to
// the agent, wherever it is connected); hub-rss-KB/agent counts the three
// hubs and their NATS servers together, per agent.
func BenchmarkHubFanout5000Replicas3(b *testing.B) {
	benchFanout(b, "^BenchmarkHubFanout5000Replicas3$", func(ctx context.Context, sb *sandbox.Sandbox) ([]string, func()) {
		return startReplicas(b, ctx, sb, 3, fanoutConfig)
	})
}

// startReplicas starts sb and n hub replicas on it, each with its own
// embedded NATS routed to the others, and waits until every one is ready
// (the leader has polled and the followers have its pages).
func startReplicas(b *testing.B, ctx context.Context, sb *sandbox.Sandbox, n int, file string) ([]string, func()) {
	b.Helper()
	if err := sb.Start(ctx); err != nil {
		b.Fatal(err)
	}
	// Free ports for the routes: held until all are chosen, so that no two
	// are the same, then let go for the servers.
	routes := make([]string, n)
	var held []net.Listener
	for i := range routes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		routes[i], held = ln.Addr().String(), append(held, ln)
	}
	for _, ln := range held {
		_ = ln.Close()
	}
	nodes := make([]*cluster.Cluster, n)
	errs := make(chan error, n)
	for i := range nodes {
		var peers []string
		for j, r := range routes {
			if j != i {
				peers = append(peers, r)
			}
		}
		go func() {
			var err error
			nodes[i], err = cluster.Start(ctx, cluster.Options{NodeName: "hub-" + strconv.Itoa(i),
				ClusterListen: routes[i], ClusterPeers: peers, StateDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	var running []*hubtest.Running
	var urls []string
	for _, c := range nodes {
		r := hubtest.Serve(b, ctx, hubtest.New(b, sb, file, func(cfg *hub.Config) { cfg.Replicas = c }))
		running = append(running, r)
		urls = append(urls, r.URL)
	}
	for _, r := range running {
		r.WaitReady(b, 2*time.Minute)
	}
	return urls, func() {
		for _, r := range running {
			r.Stop()
		}
		for _, c := range nodes {
			c.Close()
		}
	}
}
