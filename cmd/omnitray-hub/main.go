// Command omnitray-hub is the per-company Omnitray server: it polls Omnidesk
// for everyone, serves agents their status over a websocket, and writes their
// Chaport operators' statuses on their behalf. This main only wires flags,
// environment and logging to sync/hub.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/omnitray/omnitray/cmd/internal/cli"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/cluster"
)

func main() {
	cli.Main("omnitray-hub", "the per-company Omnitray server", []*cli.Command{
		{Name: "serve", Short: "poll Omnidesk and serve agents", Run: serve},
		{Name: "token", Short: "issue (print), list or revoke agent tokens", Run: token},
	})
}

// secret reads the signing secret, which is only ever taken from the
// environment so that it never shows in a process list.
func secret() ([]byte, error) {
	s := os.Getenv("OMNITRAY_HUB_SECRET")
	if s == "" {
		return nil, cli.Usagef("OMNITRAY_HUB_SECRET is not set (32 random bytes, e.g. from 'openssl rand -hex 32')")
	}
	if err := hub.CheckSecret([]byte(s)); err != nil {
		return nil, cli.Usagef("OMNITRAY_HUB_SECRET: %v", err)
	}
	return []byte(s), nil
}

// checkVendorURL refuses plain http to anything but loopback: the vendor
// credentials would cross the network readable.
func checkVendorURL(flagName, env, raw string, insecure bool) error {
	if raw == "" {
		return cli.Usagef("--%s (or %s) is required", flagName, env)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cli.Usagef("--%s must be an http(s) URL", flagName)
	}
	if u.Scheme == "http" && !insecure && !feed.IsLoopback(u.Hostname()) {
		return cli.Usagef("--%s: plain http to %s would expose the credentials; use https or --insecure", flagName, u.Hostname())
	}
	return nil
}

func serve(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("omnitray-hub", "serve", "omnitray-hub serve [flags]\n\n"+
		"Secrets come only from the environment: OMNIDESK_API_KEY, CHAPORT_TOKEN, OMNITRAY_HUB_SECRET.")
	listen := fs.String("listen", "127.0.0.1:8740", "address to serve agents on")
	omnideskURL := fs.String("omnidesk-url", "", "Omnidesk account URL, e.g. https://acme.omnidesk.ru")
	email := fs.String("omnidesk-email", "", "Omnidesk API user's e-mail")
	chaportURL := fs.String("chaport-url", "", "Chaport URL, e.g. https://app.chaport.com")
	insecure := fs.Bool("insecure", false, "allow plain http beyond loopback")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file, to serve https/wss")
	tlsKey := fs.String("tls-key", "", "TLS key file")
	state := addStateFlags(fs)
	clusterFl := addClusterFlags(fs)
	verbose := fs.Bool("verbose", false, "log debug detail")
	for name, env := range map[string]string{"listen": "OMNITRAY_HUB_LISTEN", "omnidesk-url": "OMNIDESK_URL",
		"omnidesk-email": "OMNIDESK_EMAIL", "chaport-url": "CHAPORT_URL"} {
		fs.Env(name, env)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fs.NoArgs(); err != nil {
		return err
	}
	if err := checkVendorURL("omnidesk-url", "OMNIDESK_URL", *omnideskURL, *insecure); err != nil {
		return err
	}
	if err := checkVendorURL("chaport-url", "CHAPORT_URL", *chaportURL, *insecure); err != nil {
		return err
	}
	if *email == "" {
		return cli.Usagef("--omnidesk-email (or OMNIDESK_EMAIL) is required")
	}
	apiKey, chaportToken := os.Getenv("OMNIDESK_API_KEY"), os.Getenv("CHAPORT_TOKEN")
	if apiKey == "" || chaportToken == "" {
		return cli.Usagef("OMNIDESK_API_KEY and CHAPORT_TOKEN must be set in the environment")
	}
	key, err := secret()
	if err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return cli.Usagef("--tls-cert and --tls-key go together")
	}
	// The pair is loaded before anything listens: a typo in a path is bad
	// input (exit 2), not a failure after "hub listening" was logged.
	var cert *tls.Certificate
	if *tlsCert != "" {
		c, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return cli.Usagef("--tls-cert/--tls-key: %v", err)
		}
		cert = &c
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return cli.Usagef("--listen %q: %v", *listen, err)
	}
	if *tlsCert == "" && !*insecure && !feed.IsLoopback(host) {
		return cli.Usagef("--listen %s without TLS would expose agent tokens; give --tls-cert/--tls-key, put it behind a TLS proxy on loopback, or pass --insecure", *listen)
	}
	clusterOpts, err := clusterFl.options(fs, *insecure)
	if err != nil {
		return err
	}
	// A restarted hub must not announce the same hand-overs again, nor
	// forget revocations or pinned links, so its state is kept on disk.
	stateDir, fc, err := state.resolve()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(cli.NewLineHandler(os.Stderr, level))
	return runHub(ctx, hubSetup{listen: *listen, secret: key, file: fc, stateDir: stateDir, cert: cert, log: log, cluster: clusterOpts,
		vendors: hub.Vendors{OmnideskURL: *omnideskURL, OmnideskEmail: *email, OmnideskAPIKey: apiKey,
			ChaportURL: *chaportURL, ChaportToken: chaportToken}})
}

type hubSetup struct {
	listen   string
	vendors  hub.Vendors
	secret   []byte
	file     hub.FileConfig
	stateDir string
	cert     *tls.Certificate // nil: plain http
	log      *slog.Logger
	cluster  *cluster.Options // nil: a hub alone
}

func runHub(ctx context.Context, s hubSetup) error {
	od, cp, err := s.vendors.Clients(s.file)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	cfg := hub.Config{Omnidesk: od, Chaport: cp, Secret: s.secret, File: s.file,
		OmnideskURL: s.vendors.OmnideskURL, Logger: s.log, StateDir: s.stateDir}
	if s.cluster != nil {
		c, err := joinCluster(ctx, *s.cluster, s.stateDir, s.log)
		if err != nil {
			return err
		}
		// Closed after the hub stopped (deferred before the hub's own
		// teardown below, so run after it): Close gives up the lead first,
		// so that a follower takes over at once.
		defer c.Close()
		cfg.Replicas = c
	}
	h, err := hub.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listening: %w (another hub, or another program, has that port; stop it or give --listen another address)", err)
		}
		return fmt.Errorf("listening: %w", err)
	}
	ln = hub.GuardListener(ln, nil, s.log)
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	scheme := "http"
	if s.cert != nil {
		scheme = "https"
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*s.cert}, MinVersion: tls.VersionTLS12}
	}
	s.log.Info("hub listening", "url", scheme+"://"+ln.Addr().String(), "budget_share",
		strconv.FormatFloat(s.file.BudgetShare, 'f', -1, 64), "state_dir", s.stateDir)
	// The hub's own context: it ends on a signal or when serving fails, and
	// Run returning is what says its state is saved.
	hubCtx, stopHub := context.WithCancel(ctx)
	defer stopHub()
	ran := make(chan error, 1)
	go func() { ran <- h.Run(hubCtx) }()
	served := make(chan error, 1)
	go func() {
		if s.cert != nil {
			served <- srv.ServeTLS(ln, "", "") // the pair is in TLSConfig
		} else {
			served <- srv.Serve(ln)
		}
	}()
	var failed error
	select {
	case <-ctx.Done():
		s.log.Info("stopping: saving state")
	case err := <-served:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			failed = fmt.Errorf("serving: %w", err)
		}
	}
	stopHub()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	// Returning lets main exit, which would cut short the budget and chat
	// state saves that Run makes on its way out (and leave their temp files).
	select {
	case <-ran:
		s.log.Info("hub stopped")
	case <-time.After(10 * time.Second):
		s.log.Warn("hub did not finish saving its state within 10s; stopping anyway")
	}
	return failed
}
