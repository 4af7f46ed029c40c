// Package cluster links the replicas of one company's hub on NATS: it
// implements hub.Replicas (leadership with fencing, publish/subscribe,
// requests to whoever serves a subject, and shared replicated state).
//
// In embedded mode every omnitray-hub process runs a nats-server in-process,
// routed to the other replicas' servers, with JetStream keeping two
// key-value buckets replicated over them: the leader lease and the shared
// state. In external mode the replicas are clients of a NATS cluster the
// company already runs (with JetStream enabled), and no server runs here.
//
// Only cmd/omnitray-hub imports this package: sync/hub sees the small
// hub.Replicas interface, so that the employee's binary, which links
// sync/hub for the demo, never links the NATS server.
//
// Leadership (lease.go) is a key in a KV bucket whose TTL is the lease: the
// holder renews it by compare-and-set well within the TTL, and proves its
// leadership only until LeaseTTL-ClockMargin after it sent its last
// successful renewal. A replica elected after the key expired therefore
// starts only once the old leader's proof has run out, provided the
// replicas' clocks agree within ClockMargin (run NTP on them). While it
// leads, a replica moves the RAFT leaders of the buckets' streams to other
// replicas, so that killing it does not stall the lease for a NATS election.
//
// Health counts the replicas that sent a heartbeat lately (core NATS, every
// RenewEvery): hub replicas, not NATS servers, in either mode.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/omnitray/omnitray/sync/hub"
)

// Defaults for Options. See Options for why.
const (
	DefaultLeaseTTL    = 3 * time.Second
	DefaultRenewEvery  = 750 * time.Millisecond
	DefaultClockMargin = time.Second
)

// Names of what this package keeps in NATS.
const (
	clusterName  = "omnitray"
	leaseBucket  = "omnitray-hub-lease"
	stateBucket  = "omnitray-hub-state"
	leaseKey     = "leader"
	subjectPub   = "omnitray.hub.pub."
	subjectReq   = "omnitray.hub.req."
	subjectAlive = "omnitray.cluster.alive"
	nodeHeader   = "Omnitray-Node"
	// globalAccount is the account an embedded server without accounts
	// puts every client in; its streams are looked up under it.
	globalAccount = "$G"
)

// Options configure Start.
type Options struct {
	// NodeName names this replica, uniquely in the cluster (letters,
	// digits, '.', '_' and '-'). In embedded mode it is also the NATS
	// server's name.
	NodeName string
	// ClusterListen is the HOST:PORT the embedded server takes routes from
	// the other replicas on (embedded mode; a port of 0 picks one).
	ClusterListen string
	// ClusterPeers are the other replicas' ClusterListen addresses
	// (HOST:PORT). The cluster's size is 1+len(ClusterPeers). With neither
	// ClusterListen nor ClusterPeers the embedded server runs alone, with
	// no route port (JetStream will not cluster without routes).
	ClusterPeers []string
	// StateDir holds the embedded server's JetStream storage, under
	// StateDir/jetstream.
	StateDir string
	// NATSURL, if set, selects external mode: connect to these servers
	// (JetStream enabled) and run none here.
	NATSURL []string
	Logger  *slog.Logger

	// LeaseTTL is how long the leader lease lives unrenewed (default 3s):
	// a leader that dies is replaced about LeaseTTL after its last renewal
	// (2.7s measured after a SIGKILL), under the 5s target, while renewals
	// have LeaseTTL-ClockMargin-RenewEvery = 1.25s to get through on a
	// loaded machine before the leader must step down.
	LeaseTTL time.Duration
	// RenewEvery is how often the leader renews its lease and the others
	// look at it (default 750ms): several renewals fit in a lease, so one
	// slow renewal does not cost the leadership.
	RenewEvery time.Duration
	// ClockMargin is taken off a lease's proof for the replicas' clocks
	// disagreeing: the lease expires by the clock of the NATS server that
	// expires it, stamped by the clock of the one that stored it (default
	// 1s, far above what NTP keeps them to).
	ClockMargin time.Duration

	// frozen, if set (tests), stops the lease's I/O while it returns true:
	// a frozen (SIGSTOP) replica, as the others see it.
	frozen func() bool
	// now, if set (tests), replaces time.Now for the lease's proof.
	now func() time.Time
	// keepKVLeaders (tests) leaves the streams' leaders where they are,
	// to measure what moving them gains.
	keepKVLeaders bool
}

// Cluster is one replica's link to the others. It implements hub.Replicas.
type Cluster struct {
	opts Options
	log  *slog.Logger
	srv  *server.Server // nil in external mode
	nc   *nats.Conn
	js   jetstream.JetStream
	// size is the cluster's size as configured (embedded) or assumed from
	// the server (external), for the buckets' replicas.
	size int
	// instance tells this process's lease from one of an earlier process
	// of the same node, which must not take it over as its own.
	instance string

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // background loops
	leads  sync.WaitGroup // Lead calls, which release the lease on the way out
	closed atomic.Bool

	// ready is closed once both buckets are open.
	ready    chan struct{}
	lease    jetstream.KeyValue
	state    jetstream.KeyValue
	leaseTTL time.Duration // the lease bucket's TTL, if shorter than LeaseTTL

	mu sync.Mutex
	ls leaseState // lease.go
	// alive is when each other replica last said it was (messaging.go).
	alive map[string]time.Time
}

var _ hub.Replicas = (*Cluster)(nil)

var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// CheckNodeName says whether name can name a replica.
func CheckNodeName(name string) error {
	if !nodeNameRE.MatchString(name) {
		return fmt.Errorf("node name %q: want 1 to 64 letters, digits, '.', '_' or '-'", name)
	}
	return nil
}

func (o *Options) withDefaults() error {
	if err := CheckNodeName(o.NodeName); err != nil {
		return err
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.RenewEvery == 0 {
		o.RenewEvery = DefaultRenewEvery
	}
	if o.ClockMargin == 0 {
		o.ClockMargin = DefaultClockMargin
	}
	if o.RenewEvery < 0 || o.ClockMargin < 0 || o.LeaseTTL-o.ClockMargin < 2*o.RenewEvery {
		return fmt.Errorf("lease timings: LeaseTTL (%v) less ClockMargin (%v) must leave at least two renewals (RenewEvery %v)",
			o.LeaseTTL, o.ClockMargin, o.RenewEvery)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if len(o.NATSURL) > 0 {
		if o.ClusterListen != "" || len(o.ClusterPeers) > 0 {
			return errors.New("an external NATS (NATSURL) and an embedded server's cluster (ClusterListen, ClusterPeers) exclude each other")
		}
		return nil
	}
	if (o.ClusterListen == "") != (len(o.ClusterPeers) == 0) {
		// JetStream refuses a cluster without routes.
		return errors.New("embedded mode needs both ClusterListen and ClusterPeers, or neither (a replica alone)")
	}
	if o.StateDir == "" {
		return errors.New("embedded mode needs StateDir, for JetStream's storage")
	}
	if o.ClusterListen != "" {
		if _, _, err := SplitHostPort(o.ClusterListen); err != nil {
			return fmt.Errorf("cluster listen address: %w", err)
		}
	}
	for _, p := range o.ClusterPeers {
		if _, _, err := SplitHostPort(p); err != nil {
			return fmt.Errorf("cluster peer: %w", err)
		}
	}
	return nil
}

// SplitHostPort reads a HOST:PORT address (the host may be empty: every
// interface; the port 0: any).
func SplitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", hp, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port %q is not a number from 0 to 65535", hp, p)
	}
	return host, port, nil
}

// Start joins the cluster: it starts the embedded server (or connects to
// the external one) and returns once this replica can talk to NATS. The
// buckets are opened (or created) in the background, since that needs a
// quorum of the replicas, which may start in any order: leadership, Get,
// Put and Watch wait for them.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.withDefaults(); err != nil {
		return nil, err
	}
	instance := make([]byte, 6)
	_, _ = rand.Read(instance)
	c := &Cluster{opts: opts, log: opts.Logger, instance: hex.EncodeToString(instance),
		ready: make(chan struct{}), ls: leaseState{elected: make(chan *term, 1)}, alive: map[string]time.Time{}, leaseTTL: opts.LeaseTTL}
	var err error
	if len(opts.NATSURL) > 0 {
		err = c.connectExternal(ctx)
	} else {
		err = c.startEmbedded(ctx)
	}
	if err != nil {
		c.shutdown()
		return nil, err
	}
	js, err := jetstream.New(c.nc)
	if err != nil {
		c.shutdown()
		return nil, fmt.Errorf("starting JetStream's client: %w", err)
	}
	c.js = js
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := c.startAlive(); err != nil {
		c.cancel()
		c.shutdown()
		return nil, err
	}
	c.wg.Go(func() { c.openBuckets(c.ctx) })
	c.wg.Go(func() { c.leaseLoop(c.ctx) })
	return c, nil
}

func (c *Cluster) startEmbedded(ctx context.Context) error {
	host, port := "", 0 // alone: no routes
	if c.opts.ClusterListen != "" {
		host, port, _ = SplitHostPort(c.opts.ClusterListen)
		if port == 0 {
			port = server.RANDOM_PORT
		}
	}
	so := &server.Options{
		ServerName: c.opts.NodeName,
		// This replica connects in-process. The client port cannot be left
		// closed (DontListen) in a cluster: the server starts its routes
		// only once it is open. It takes any free port on loopback,
		// advertised to nobody.
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  filepath.Join(c.opts.StateDir, "jetstream"),
		// The lease is all that is kept in memory; the default would be
		// three quarters of the machine's memory.
		JetStreamMaxMemory: 64 << 20,
		// The hub owns the process's signals.
		NoSigs: true,
	}
	if port != 0 {
		so.Cluster = server.ClusterOpts{
			Name: clusterName,
			Host: host,
			Port: port,
			// A frozen (SIGSTOP) peer answers no pings: with these its
			// routes are dropped after about three seconds, not minutes.
			PingInterval: time.Second,
			MaxPingsOut:  3,
			// The loopback client ports mean nothing on other machines.
			NoAdvertise: true,
		}
	} else {
		so.DontListen = true
	}
	for _, p := range c.opts.ClusterPeers {
		so.Routes = append(so.Routes, &url.URL{Scheme: "nats-route", Host: p})
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return fmt.Errorf("configuring the embedded NATS server: %w", err)
	}
	nl := &natsLogger{log: c.log.With("node", c.opts.NodeName)}
	srv.SetLoggerV2(nl, false, false, false)
	c.srv = srv
	c.size = 1 + len(c.opts.ClusterPeers)
	srv.Start()
	// Readiness is polled so that a fatal error (the route port taken) or
	// the caller giving up ends the wait.
	deadline := time.Now().Add(30 * time.Second)
	for !srv.ReadyForConnections(100 * time.Millisecond) {
		if msg := nl.fatal.Load(); msg != nil {
			return fmt.Errorf("starting the embedded NATS server: %s", *msg)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("starting the embedded NATS server: %w", err)
		}
		if time.Now().After(deadline) {
			return errors.New("starting the embedded NATS server: not ready after 30s")
		}
	}
	if msg := nl.fatal.Load(); msg != nil {
		return fmt.Errorf("starting the embedded NATS server: %s", *msg)
	}
	nc, err := nats.Connect("", append(c.connOptions(), nats.InProcessServer(srv), nats.IgnoreDiscoveredServers())...)
	if err != nil {
		return fmt.Errorf("connecting to the embedded NATS server: %w", err)
	}
	c.nc = nc
	return nil
}

func (c *Cluster) connectExternal(ctx context.Context) error {
	opts := append(c.connOptions(),
		// A frozen server is given up for another within seconds, as
		// routes are in embedded mode.
		nats.PingInterval(time.Second), nats.MaxPingsOutstanding(3),
		nats.ReconnectWait(250*time.Millisecond))
	if d, ok := ctx.Deadline(); ok {
		opts = append(opts, nats.Timeout(time.Until(d)))
	}
	nc, err := nats.Connect(strings.Join(c.opts.NATSURL, ","), opts...)
	if err != nil {
		// The URLs are not repeated: they may carry a password.
		return fmt.Errorf("connecting to NATS: %w", err)
	}
	c.nc = nc
	// A NATS cluster is taken to have the three JetStream servers NATS
	// recommends at least; a lone server stores everything once.
	c.size = 1
	if nc.ConnectedClusterName() != "" {
		c.size = 3
	}
	return nil
}

// connOptions are the connection's options in either mode: reconnect
// forever, and say what goes wrong (a subscriber too slow to keep up loses
// messages).
func (c *Cluster) connOptions() []nats.Option {
	return []nats.Option{nats.Name("omnitray-hub " + c.opts.NodeName), nats.MaxReconnects(-1),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.log.Warn("cluster: NATS connection", "err", err)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil && !c.closed.Load() {
				c.log.Warn("cluster: disconnected from NATS; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.log.Info("cluster: reconnected to NATS", "server", nc.ConnectedServerName())
		}),
	}
}

// replicas is how many copies the buckets keep.
func (c *Cluster) replicas() int { return min(3, c.size) }

// openBuckets opens the lease and state buckets, creating them if they are
// missing, and retries until it can: JetStream answers only once a quorum
// of the replicas has elected its meta leader, and an R3 bucket is created
// only with three replicas up.
func (c *Cluster) openBuckets(ctx context.Context) {
	// The lease is on disk too, though it is renewed every RenewEvery: a
	// memory bucket's replica loses its RAFT log with its process, so
	// after a rolling restart two of three replicas could hold no copy the
	// group can build on, and when the third then stopped, no replica
	// could take the lease for as long as it was away (seen: a minute
	// without a poller).
	leaseCfg := jetstream.KeyValueConfig{Bucket: leaseBucket, Description: "omnitray hub leader lease",
		History: 1, TTL: c.opts.LeaseTTL, Storage: jetstream.FileStorage, Replicas: c.replicas()}
	stateCfg := jetstream.KeyValueConfig{Bucket: stateBucket, Description: "omnitray hub shared state",
		History: 1, Storage: jetstream.FileStorage, Replicas: c.replicas()}
	var lease, state jetstream.KeyValue
	var lastLog time.Time
	for attempt := 0; ; attempt++ {
		var err error
		if lease == nil {
			lease, err = c.openBucket(ctx, leaseCfg)
		}
		if err == nil && state == nil {
			state, err = c.openBucket(ctx, stateCfg)
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		// Said at once, then twice a minute: a replica alone waits for
		// the others as long as they take to start.
		if time.Since(lastLog) > 30*time.Second {
			c.log.Info("cluster: waiting for the replicas' shared state (needs a majority of them, all of them the first time)",
				"err", err)
			lastLog = time.Now()
		}
		if !sleep(ctx, min(time.Second, time.Duration(attempt+1)*200*time.Millisecond)) {
			return
		}
	}
	if err := c.checkLeaseTTL(ctx, lease); err != nil && ctx.Err() == nil {
		c.log.Warn("cluster: reading the lease bucket's TTL", "err", err)
	}
	c.mu.Lock()
	c.lease, c.state = lease, state
	c.mu.Unlock()
	close(c.ready)
	c.log.Info("cluster: shared state ready", "replicas", c.replicas())
}

func (c *Cluster) openBucket(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	kv, err := c.js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = c.js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) { // another replica just made it
			kv, err = c.js.KeyValue(ctx, cfg.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// checkLeaseTTL keeps the proof within the bucket's actual TTL: a bucket
// made by a replica configured with a shorter LeaseTTL expires leases
// sooner than this one's options say.
func (c *Cluster) checkLeaseTTL(ctx context.Context, kv jetstream.KeyValue) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := kv.Status(ctx)
	if err != nil {
		return fmt.Errorf("reading the lease bucket's status: %w", err)
	}
	ttl := st.TTL()
	if ttl == c.opts.LeaseTTL {
		return nil
	}
	c.log.Warn("cluster: the lease bucket's TTL differs from this replica's lease TTL; the shorter is used for the proof",
		"bucket_ttl", ttl, "lease_ttl", c.opts.LeaseTTL)
	if ttl > 0 && ttl < c.opts.LeaseTTL {
		c.mu.Lock()
		c.leaseTTL = ttl
		c.mu.Unlock()
		if ttl-c.opts.ClockMargin <= c.opts.RenewEvery {
			c.log.Error("cluster: the lease bucket's TTL leaves no time to renew; this replica cannot lead",
				"bucket_ttl", ttl)
		}
	}
	return nil
}

// waitReady waits for the buckets.
func (c *Cluster) waitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		return errClosed
	}
}

var errClosed = errors.New("cluster link closed")

// Node is this replica's name.
func (c *Cluster) Node() string { return c.opts.NodeName }

// Close leaves the cluster: it ends Lead calls and waits (up to 10s) for
// them to give up the lease, so that a follower takes over at once, then
// closes the connection and the embedded server. It is safe to call more
// than once.
func (c *Cluster) Close() {
	// Under mu, so that a Lead call either is counted before Wait or
	// sees closed.
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return
	}
	c.closed.Store(true)
	c.mu.Unlock()
	c.cancel()
	// A lead func that ignores its context would hold the process up:
	// after a while the lease is left to expire instead.
	led := make(chan struct{})
	go func() { c.leads.Wait(); close(led) }()
	select {
	case <-led:
	case <-time.After(10 * time.Second):
		c.log.Warn("cluster: a lead func did not return within 10s of Close; leaving its lease to expire")
	}
	c.wg.Wait()
	c.handOverStreams()
	c.shutdown()
}

// handOverStreams moves the buckets' RAFT leaders (and JetStream's meta
// leader) off this replica before it stops. A stream whose leader just
// vanishes is unwritable for a NATS election (4 to 9 s): a rolling restart
// of a mere follower would cost the hub leader its lease (seen in the
// cluster test: the leader lost it while a follower restarted).
func (c *Cluster) handOverStreams() {
	if c.srv == nil || c.nc == nil || c.size < 3 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	streams := []string{"KV_" + leaseBucket, "KV_" + stateBucket}
	leads := func() bool {
		for _, st := range streams {
			if c.srv.JetStreamIsStreamLeader(globalAccount, st) {
				return true
			}
		}
		return false
	}
	for _, st := range streams {
		if c.srv.JetStreamIsStreamLeader(globalAccount, st) {
			if err := c.stepDownStream(ctx, st); err != nil {
				c.log.Debug("cluster: handing a stream's leader on before stopping", "stream", st, "err", err)
			}
		}
	}
	if c.srv.JetStreamIsLeader() {
		_, _ = c.nc.RequestWithContext(ctx, "$JS.API.META.LEADER.STEPDOWN", nil)
	}
	for leads() && sleep(ctx, 50*time.Millisecond) {
	}
}

func (c *Cluster) shutdown() {
	if c.nc != nil {
		c.nc.Close()
	}
	if c.srv != nil {
		c.srv.Shutdown()
		c.srv.WaitForShutdown()
	}
}

// sleep waits d or until ctx ends; it reports whether ctx lives.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// natsLogger passes the embedded server's log to slog: its notices are
// debug detail, its warnings and errors are the hub's, at most once a
// minute for each kind (a peer that is down makes the server retry its
// routes every second, each retry an error). Messages that are only the
// normal course of starting in any order, or of a peer restarting, are
// demoted. A fatal error is also kept for Start to return (the server
// stops; it does not exit).
type natsLogger struct {
	log   *slog.Logger
	fatal atomic.Pointer[string]

	mu   sync.Mutex
	last map[string]time.Time // by format: when it was last logged
}

// natsDemoted are formats (or parts of them) logged below their level.
var natsDemoted = []struct {
	part  string
	level slog.Level
}{
	{"Error trying to connect to route", slog.LevelInfo},
	{"Waiting for routing to be established", slog.LevelDebug},
	{"has not established contact with a meta leader", slog.LevelDebug},
	{"is not current with the meta leader", slog.LevelDebug},
	{"Metalayer blocking snapshot", slog.LevelDebug},
}

func (l *natsLogger) emit(level slog.Level, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	for _, d := range natsDemoted {
		if strings.Contains(msg, d.part) {
			level = d.level
		}
	}
	if level > slog.LevelDebug {
		// A kind is its format, unless the server formatted it already.
		kind := format
		if format == "%s" {
			kind = msg
		}
		l.mu.Lock()
		if l.last == nil || len(l.last) > 1000 { // bounded, whatever the server says
			l.last = map[string]time.Time{}
		}
		if at, ok := l.last[kind]; ok && time.Since(at) < time.Minute {
			l.mu.Unlock()
			return
		}
		l.last[kind] = time.Now()
		l.mu.Unlock()
	}
	l.log.Log(context.Background(), level, "nats: "+msg)
}

func (l *natsLogger) Noticef(format string, v ...any) { l.emit(slog.LevelDebug, format, v...) }
func (l *natsLogger) Warnf(format string, v ...any)   { l.emit(slog.LevelWarn, format, v...) }
func (l *natsLogger) Errorf(format string, v ...any)  { l.emit(slog.LevelError, format, v...) }
func (l *natsLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.fatal.CompareAndSwap(nil, &msg)
	l.log.Error("nats: " + msg)
}
func (l *natsLogger) Debugf(format string, v ...any) {}
func (l *natsLogger) Tracef(format string, v ...any) {}
