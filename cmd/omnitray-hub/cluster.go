package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/omnitray/omnitray/cmd/internal/cli"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub/cluster"
)

// clusterFlags make serve one replica of a hub cluster (sync/hub/cluster).
// With none of them the hub runs alone, as it always did: no NATS, no
// extra port.
type clusterFlags struct {
	nodeName, listen, peers, natsURL *string
}

func addClusterFlags(fs *cli.FlagSet) *clusterFlags {
	cf := &clusterFlags{
		nodeName: fs.String("node-name", "", "this replica's name in a hub cluster, unique among the replicas (letters, digits, '.', '_', '-'); required with the other cluster flags"),
		listen: fs.String("cluster-listen", "", "HOST:PORT the embedded NATS takes the other replicas' routes on; "+
			"routes are not encrypted (TLS for them is not supported yet) and carry the company's shared state, "+
			"so anything but loopback needs --insecure and a private network"),
		peers:   fs.String("cluster-peers", "", "the other replicas' --cluster-listen addresses, HOST:PORT,HOST:PORT"),
		natsURL: fs.String("nats-url", "", "use an existing NATS cluster (JetStream enabled) instead of the embedded one: URL[,URL]"),
	}
	fs.Env("node-name", "OMNITRAY_HUB_NODE_NAME")
	fs.Env("cluster-listen", "OMNITRAY_HUB_CLUSTER_LISTEN")
	fs.Env("cluster-peers", "OMNITRAY_HUB_CLUSTER_PEERS")
	fs.Env("nats-url", "OMNITRAY_NATS_URL")
	return cf
}

// options checks the cluster flags and returns the cluster's options, or
// nil when none was given. StateDir and Logger are left to the caller.
func (cf *clusterFlags) options(fs *cli.FlagSet, insecure bool) (*cluster.Options, error) {
	listen, peers, natsURL := *cf.listen, *cf.peers, *cf.natsURL
	if *cf.nodeName == "" && listen == "" && peers == "" && natsURL == "" {
		return nil, nil
	}
	if natsURL != "" && (listen != "" || peers != "") {
		return nil, cli.Usagef("--nats-url uses an existing NATS; --cluster-listen and --cluster-peers run an embedded one: give one or the other")
	}
	if natsURL == "" && listen == "" && peers == "" {
		return nil, cli.Usagef("%s: a node name needs a cluster: give --cluster-listen HOST:PORT and --cluster-peers HOST:PORT,HOST:PORT, or --nats-url URL", fs.Source("node-name"))
	}
	if *cf.nodeName == "" {
		return nil, cli.Usagef("--node-name (or OMNITRAY_HUB_NODE_NAME) is required in a cluster: a name unique among the replicas, e.g. hub-1")
	}
	if err := cluster.CheckNodeName(*cf.nodeName); err != nil {
		return nil, cli.Usagef("%s: %v", fs.Source("node-name"), err)
	}
	opts := &cluster.Options{NodeName: *cf.nodeName}
	if natsURL != "" {
		for u := range strings.SplitSeq(natsURL, ",") {
			u = strings.TrimSpace(u)
			if err := checkNATSURL(u); err != nil {
				return nil, cli.Usagef("--nats-url: %v; want nats://HOST:PORT or tls://HOST:PORT, comma-separated", err)
			}
			opts.NATSURL = append(opts.NATSURL, u)
		}
		return opts, nil
	}
	if listen == "" || peers == "" {
		return nil, cli.Usagef("--cluster-listen HOST:PORT and --cluster-peers HOST:PORT,HOST:PORT go together (a replica alone needs neither)")
	}
	lhost, lport, err := hostPort(listen, true)
	if err != nil {
		return nil, cli.Usagef("%s: %v; want HOST:PORT, e.g. 10.0.0.5:6222", fs.Source("cluster-listen"), err)
	}
	if !insecure && !feed.IsLoopback(lhost) {
		return nil, cli.Usagef("%s: NATS routes would carry the company's shared state unencrypted beyond loopback (TLS for routes is not supported yet); on a private network, pass --insecure", fs.Source("cluster-listen"))
	}
	seen := map[string]bool{}
	for p := range strings.SplitSeq(peers, ",") {
		p = strings.TrimSpace(p)
		host, port, err := hostPort(p, false)
		if err != nil {
			return nil, cli.Usagef("%s: %q: %v; want HOST:PORT,HOST:PORT", fs.Source("cluster-peers"), p, err)
		}
		if port == lport && (strings.EqualFold(host, lhost) || isAnyHost(lhost) && feed.IsLoopback(host)) {
			return nil, cli.Usagef("%s: %s is this replica's own --cluster-listen; list only the others", fs.Source("cluster-peers"), p)
		}
		key := strings.ToLower(net.JoinHostPort(host, port))
		if seen[key] {
			return nil, cli.Usagef("%s: %s is listed twice", fs.Source("cluster-peers"), p)
		}
		seen[key] = true
		opts.ClusterPeers = append(opts.ClusterPeers, net.JoinHostPort(host, port))
	}
	opts.ClusterListen = listen
	return opts, nil
}

// hostPort reads HOST:PORT with a port from 1 to 65535; only a listen
// address may leave the host empty (every interface).
func hostPort(hp string, listen bool) (host, port string, err error) {
	host, port, err = net.SplitHostPort(hp)
	if err != nil {
		if ae, ok := errors.AsType[*net.AddrError](err); ok {
			return "", "", errors.New(ae.Err) // without the address, said already
		}
		return "", "", err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", errPort
	}
	if host == "" && !listen {
		return "", "", errHost
	}
	return host, port, nil
}

var (
	errPort = errors.New("the port must be from 1 to 65535")
	errHost = errors.New("the host is missing")
)

func isAnyHost(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }

func checkNATSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL") // not quoted: it may hold a password
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("scheme %q is not a NATS one", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}

// redactURLs is the NATS URLs for a log line, without their credentials (a
// token is given as the user name).
func redactURLs(urls []string) string {
	out := make([]string, len(urls))
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			out[i] = "(unreadable URL)"
			continue
		}
		if u.User != nil {
			u.User = url.User("xxxxx")
		}
		out[i] = u.String()
	}
	return strings.Join(out, ",")
}

// joinCluster starts this replica's link to the others; JetStream keeps its
// storage in the state directory.
func joinCluster(ctx context.Context, opts cluster.Options, stateDir string, log *slog.Logger) (*cluster.Cluster, error) {
	opts.StateDir, opts.Logger = stateDir, log
	c, err := cluster.Start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("joining the hub cluster: %w", err)
	}
	if len(opts.NATSURL) > 0 {
		log.Info("cluster: joined as "+opts.NodeName, "nats", redactURLs(opts.NATSURL))
	} else {
		log.Info("cluster: joined as "+opts.NodeName, "listen", opts.ClusterListen,
			"peers", strings.Join(opts.ClusterPeers, ","))
	}
	return c, nil
}
