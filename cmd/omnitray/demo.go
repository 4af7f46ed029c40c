package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/agent/notices"
	"github.com/omnitray/omnitray/agent/notify"
	"github.com/omnitray/omnitray/cmd/internal/cli"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// runDemo wires the sandbox, a hub and one headless agent (for the seed
// employee Anna) in one process, with the same code that runs against the
// real services.
func runDemo(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("omnitray", "demo", "omnitray demo [flags]\n\n"+
		"Runs the sandbox, a hub and an agent for the sandbox employee Anna Petrova.\n"+
		"Flip Anna's status on the control page and watch the agent follow.")
	control := fs.String("control-listen", "127.0.0.1:8743", "address of the sandbox control page")
	grace := fs.Duration("grace", 30*time.Second, "grace delay (shorter than the product default, to see it happen)")
	lease := fs.Duration("lease", time.Minute, "Chaport lease")
	verbose := fs.Bool("verbose", false, "also log lease renewals and the hub's work")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fs.NoArgs(); err != nil {
		return err
	}
	if err := fs.AtLeast("grace", *grace, time.Second); err != nil {
		return err
	}
	if err := fs.AtLeast("lease", *lease, time.Second); err != nil {
		return err
	}
	level, hubLevel := slog.LevelInfo, slog.LevelWarn
	if *verbose {
		level, hubLevel = slog.LevelDebug, slog.LevelInfo
	}
	log := slog.New(cli.NewLineHandler(os.Stderr, level))

	// A budget of 240/min lets the hub's 25 % share poll every second.
	sb := sandbox.New(sandbox.Config{ControlListen: *control,
		Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 240}})
	if err := sb.Start(ctx); err != nil {
		return fmt.Errorf("starting the sandbox: %w", err)
	}
	defer sb.Close()
	fmt.Printf("Sandbox control page: %s/  ← open this, flip Anna's status\n", sb.ControlURL)

	hubURL, err := startDemoHub(ctx, sb, slog.New(cli.NewLineHandler(os.Stderr, hubLevel)).With("from", "hub"))
	if err != nil {
		return err
	}
	key := []byte(os.Getenv("OMNITRAY_HUB_SECRET"))
	tok, err := hub.Sign(key, sandbox.SeedStaffAnna, time.Now(), 24*time.Hour)
	if err != nil {
		return err
	}
	a, err := agent.New(agent.Config{HubURL: hubURL, Token: tok, Grace: *grace, Lease: *lease, Logger: log})
	if err != nil {
		return err
	}
	if path, err := agent.ControlPath(); err == nil {
		if err := a.ServeControl(ctx, path, nil); err != nil {
			log.Warn("'omnitray status' will not see the demo agent", "err", err)
		}
	}
	fmt.Printf("Hub: %s · agent for Anna Petrova (staff %d) · grace %s · lease %s · Ctrl-C to stop\n",
		hubURL, sandbox.SeedStaffAnna, *grace, *lease)
	// Hand-overs scripted on the control page become desktop notifications
	// where a notification server runs, and log lines everywhere.
	var n notify.Notifier = notify.Nop{}
	if real, err := notify.New(notify.Options{AppName: "Omnitray demo"}); err == nil {
		n = real
		defer real.Close()
	}
	go notices.RunChats(ctx, a, n, notices.ChatOptions{})
	return a.Run(ctx)
}

// startDemoHub runs a hub against the sandbox on a free loopback port, with a
// fresh signing secret in this process's environment only.
func startDemoHub(ctx context.Context, sb *sandbox.Sandbox, log *slog.Logger) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(raw)
	if err := os.Setenv("OMNITRAY_HUB_SECRET", secret); err != nil {
		return "", err
	}
	fc, err := hub.ParseFile([]byte(fmt.Sprintf(`{"chat_access": {"%d": true}, "min_poll_interval": "1s", "chats": {"poll_interval": "2s"}}`,
		sandbox.StatusChatDuty)))
	if err != nil {
		return "", err
	}
	od, cp, err := hub.Vendors(sb.Endpoints()).Clients(fc)
	if err != nil {
		return "", err
	}
	h, err := hub.New(hub.Config{Omnidesk: od, Chaport: cp, Secret: []byte(secret), File: fc,
		OmnideskURL: sb.OmnideskURL, Logger: log})
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening for the hub: %w", err)
	}
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.Run(ctx) }()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("hub stopped serving", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	url := "http://" + ln.Addr().String()
	return url, waitHealthy(ctx, url)
}

// waitHealthy waits for the hub's first Omnidesk poll, so that the agent's
// first connection succeeds instead of logging a refusal.
func waitHealthy(ctx context.Context, url string) error {
	for range 100 {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("the demo hub did not become ready within 10s")
}
