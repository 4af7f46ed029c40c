package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// Defaults of the timings, part of the command-line contract (README, Commands).
const (
	DefaultLease = 2 * time.Minute
)

// Config sets up an agent.
type Config struct {
	// HubURL is the hub's base URL, or its replicas' as a comma-separated
	// list (feed.WebsocketURLs): the agent fails over between them.
	HubURL   string
	Token    string // the hub token; never logged
	Insecure bool   // allow plain http to a non-loopback hub
	Grace    time.Duration
	Lease    time.Duration
	Logger   *slog.Logger
	Clock    clock.Clock
	// ChatURL is the template of a chat's web address ("{visitor_id}",
	// "{chat_id}"); default DefaultChatURL.
	ChatURL string
	// DriftCheck is how often the operator is read back (default
	// DefaultDriftCheck; negative: never); DriftPolicy is DriftReconcile
	// (default) or DriftReport.
	DriftCheck  time.Duration
	DriftPolicy string
	// Feed overrides feed client options (tests shorten the backoff).
	Feed feed.ClientOptions
	// ComputerName is how the employee's other computers name this one
	// ("also active on …"); default the host name.
	ComputerName string
}

// Agent is one employee's agent. Its state is owned by the event loop in
// Run; everything else talks to it through channels and reads snapshots.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	feed  *feed.Client

	cmds      chan func(*loop)
	snapshots *broadcaster
	chats     chan feed.ChatEvent // to ChatEvents' reader (chats.go)
	signOut   signOutHook         // `omnitray logout` (stop.go)
}

// New checks the configuration; Run connects.
func New(cfg Config) (*Agent, error) {
	if cfg.Grace == 0 {
		cfg.Grace = rules.DefaultGrace
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Grace < time.Second || cfg.Lease < time.Second {
		return nil, errors.New("grace and lease must be at least 1s")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.DriftCheck == 0 {
		cfg.DriftCheck = DefaultDriftCheck
	}
	switch cfg.DriftPolicy {
	case "":
		cfg.DriftPolicy = DriftReconcile
	case DriftReconcile, DriftReport:
	default:
		return nil, fmt.Errorf("drift policy %q: want %s or %s", cfg.DriftPolicy, DriftReconcile, DriftReport)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ComputerName == "" {
		cfg.ComputerName, _ = os.Hostname()
	}
	wsURLs, err := feed.WebsocketURLs(cfg.HubURL, cfg.Insecure)
	if err != nil {
		return nil, err
	}
	fo := cfg.Feed
	fo.URL, fo.URLs, fo.Token, fo.Logger = "", wsURLs, cfg.Token, cfg.Logger
	if fo.Clock == nil {
		fo.Clock = cfg.Clock
	}
	fc, err := feed.NewClient(fo)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, feed: fc,
		cmds: make(chan func(*loop)), snapshots: newBroadcaster(), chats: make(chan feed.ChatEvent, chatQueue)}
	a.snapshots.publish(State{Connection: Connecting, Action: rules.Hold.String(),
		Reason: "Connecting to the hub…", UpdatedAt: cfg.Clock.Now()})
	return a, nil
}

// State returns the latest snapshot.
func (a *Agent) State() State { return a.snapshots.latest() }

// Clock is the agent's clock, for its users' timers (agent/notices).
func (a *Agent) Clock() clock.Clock { return a.clock }

// Logger is the agent's log, for its users (agent/notices).
func (a *Agent) Logger() *slog.Logger { return a.log }

// Watch delivers every new snapshot (the latest one wins if the reader is
// slow) until ctx ends.
func (a *Agent) Watch(ctx context.Context) <-chan State { return a.snapshots.watch(ctx) }

// do runs f on the event loop.
func (a *Agent) do(ctx context.Context, f func(*loop)) error {
	select {
	case a.cmds <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SwitchStatus asks the hub to switch the employee's Omnidesk status and
// returns once Omnidesk shows it (the hub confirms it; the new status also
// arrives through the feed). A switch that did not happen wraps a
// *feed.RemoteError: refused, not_applied (Omnidesk ignored it), or why the
// hub could not ask.
func (a *Agent) SwitchStatus(ctx context.Context, statusID int64) error {
	_, err := a.feed.Request(ctx, feed.TypeSwitchStatus, feed.SwitchStatus{StatusID: statusID})
	if err != nil {
		return fmt.Errorf("switching the Omnidesk status: %w", err)
	}
	return nil
}

// Run connects to the hub and keeps the Chaport lease until ctx ends. It
// returns nil on cancellation, or why the hub cannot be used at all (a
// refused token).
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan feed.Event, 16)
	feedDone := make(chan error, 1)
	go func() { feedDone <- a.feed.Run(ctx, events) }()

	l := newLoop(a)
	started := false
	for {
		l.reconcile(ctx)
		select {
		case <-ctx.Done():
			a.awaitFeed(feedDone)
			if started {
				a.log.Info("agent stopped")
			}
			return nil
		case err := <-feedDone:
			if ctx.Err() != nil {
				return nil
			}
			return l.feedEnded(err)
		case ev := <-events:
			if !started {
				// Said at the first word from the feed (connected, or not
				// reachable yet), not before: a token the hub refuses
				// ends Run with one line and no "started" ahead of it.
				started = true
				a.log.Info("agent started", "hub", a.cfg.HubURL, "grace", a.cfg.Grace, "lease", a.cfg.Lease)
			}
			l.onFeed(ev)
		case <-l.timer.C():
			l.timer.fired()
		case res := <-l.keeper.done:
			l.onWrite(res)
		case res := <-l.drift.done:
			l.onRead(res)
		case f := <-a.cmds:
			f(l)
		}
	}
}

// askChaport sends one Chaport request to the hub (a write or a read-back)
// and decodes the operator's state from the answer.
func (a *Agent) askChaport(ctx context.Context, typ string, data any) (feed.ChaportState, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var state feed.ChaportState
	raw, err := a.feed.Request(ctx, typ, data)
	if err == nil {
		if err := json.Unmarshal(raw, &state); err != nil {
			return state, fmt.Errorf("decoding the hub's answer: %w", err)
		}
	}
	return state, err
}
