package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/omnitray/omnitray/cmd/internal/cli"
)

func parseCluster(t *testing.T, args []string, insecure bool) (*clusterFlags, error) {
	t.Helper()
	fs := cli.NewFlagSet("omnitray-hub", "serve", "test")
	cf := addClusterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	_, err := cf.options(fs, insecure)
	return cf, err
}

func TestClusterFlagsRefuseBadInput(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		insecure bool
		want     string // in the one-line usage error
	}{
		{[]string{"--node-name", "hub-1"}, false, "a node name needs a cluster"},
		{[]string{"--cluster-listen", "127.0.0.1:6222", "--cluster-peers", "127.0.0.1:6223"}, false, "--node-name (or OMNITRAY_HUB_NODE_NAME) is required"},
		{[]string{"--node-name", "hub 1", "--nats-url", "nats://127.0.0.1:4222"}, false, "--node-name hub 1: node name"},
		{[]string{"--node-name", "hub-1", "--nats-url", "nats://127.0.0.1:4222", "--cluster-listen", "127.0.0.1:6222"}, false, "give one or the other"},
		{[]string{"--node-name", "hub-1", "--nats-url", "nats://127.0.0.1:4222", "--cluster-peers", "127.0.0.1:6222"}, false, "give one or the other"},
		{[]string{"--node-name", "hub-1", "--nats-url", "http://127.0.0.1:4222"}, false, "--nats-url: scheme"},
		{[]string{"--node-name", "hub-1", "--nats-url", "nats://user:s3cret@127.0.0.1:4222,nats://"}, false, "--nats-url: no host"},
		{[]string{"--node-name", "hub-1", "--cluster-listen", "127.0.0.1:6222"}, false, "go together"},
		{[]string{"--node-name", "hub-1", "--cluster-peers", "127.0.0.1:6222"}, false, "go together"},
		{[]string{"--node-name", "hub-1", "--cluster-listen", "127.0.0.1", "--cluster-peers", "127.0.0.1:6223"}, false, "--cluster-listen 127.0.0.1:"},
		{[]string{"--node-name", "hub-1", "--cluster-listen", "127.0.0.1:0", "--cluster-peers", "127.0.0.1:6223"}, false, "port must be from 1 to 65535"},
		{[]string{"--node-name", "hub-1", "--cluster-listen", "127.0.0.1:99999", "--cluster-peers", "127.0.0.1:6223"}, false, "port must be from 1 to 65535"},
		{[]string{"--node-name", "hub-1", "--cluster-listen", "127.0.0.1:6222", "--cluster-peers", "127.0.0.1:6223,:6224"}, false, "host is missing"},
		{[]string{"--node-name", "hub-1", "--cluster-listen", "127.0.0.1:6222", "--cluster-peers", "127.0.0.1:6223,nope"}, false, "--cluster-peers 127.0.0.1:6223,nope: \"nope\""},
		{[]string{"--node-name", "hub-1", "--cluster-listen", "127.0.0.1:6222", "--cluster-peers", "127.0.0.1:6223,127.0.0.1:6222"}, false, "own --cluster-listen"},
		{[]string{"--node-name", "hub-1", "--cluster-listen", ":6222", "--cluster-peers", "localhost:6222"}, true, "own --cluster-listen"},
		{[]string{"--node-name", "hub-1", "--cluster-listen", "127.0.0.1:6222", "--cluster-peers", "127.0.0.1:6223,127.0.0.1:6223"}, false, "listed twice"},
		{[]string{"--node-name", "hub-1", "--cluster-listen", "10.0.0.5:6222", "--cluster-peers", "10.0.0.6:6222"}, false, "unencrypted"},
		{[]string{"--node-name", "hub-1", "--cluster-listen", ":6222", "--cluster-peers", "10.0.0.6:6222"}, false, "--insecure"},
	} {
		_, err := parseCluster(t, tc.args, tc.insecure)
		var ue *cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", tc.args, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %q, want one line with %q", tc.args, err, tc.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: the error shows the password: %q", tc.args, err)
		}
	}
}

func TestClusterFlags(t *testing.T) {
	// None: a hub alone, as before.
	fs := cli.NewFlagSet("omnitray-hub", "serve", "test")
	cf := addClusterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if opts, err := cf.options(fs, false); opts != nil || err != nil {
		t.Fatalf("no cluster flags: %+v, %v; want no cluster", opts, err)
	}

	// From the environment, embedded.
	t.Setenv("OMNITRAY_HUB_NODE_NAME", "hub-2")
	t.Setenv("OMNITRAY_HUB_CLUSTER_LISTEN", "10.0.0.6:6222")
	t.Setenv("OMNITRAY_HUB_CLUSTER_PEERS", "10.0.0.5:6222, hub-3.internal:6222")
	fs = cli.NewFlagSet("omnitray-hub", "serve", "test")
	cf = addClusterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	opts, err := cf.options(fs, true)
	if err != nil {
		t.Fatal(err)
	}
	if opts.NodeName != "hub-2" || opts.ClusterListen != "10.0.0.6:6222" ||
		!slices.Equal(opts.ClusterPeers, []string{"10.0.0.5:6222", "hub-3.internal:6222"}) || opts.NATSURL != nil {
		t.Errorf("options from the environment: %+v", opts)
	}

	// External NATS.
	t.Setenv("OMNITRAY_HUB_CLUSTER_LISTEN", "")
	t.Setenv("OMNITRAY_HUB_CLUSTER_PEERS", "")
	t.Setenv("OMNITRAY_NATS_URL", "nats://a:4222,tls://b:4222")
	fs = cli.NewFlagSet("omnitray-hub", "serve", "test")
	cf = addClusterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if opts, err = cf.options(fs, false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(opts.NATSURL, []string{"nats://a:4222", "tls://b:4222"}) || opts.ClusterListen != "" {
		t.Errorf("external NATS options: %+v", opts)
	}
}

func TestRedactURLs(t *testing.T) {
	got := redactURLs([]string{"nats://user:s3cret@a:4222", "nats://t0ken@b:4222", "tls://c:4222"})
	if strings.Contains(got, "s3cret") || strings.Contains(got, "t0ken") || !strings.Contains(got, "tls://c:4222") {
		t.Errorf("redactURLs: %q", got)
	}
}
