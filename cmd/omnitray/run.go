package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/agent/notices"
	"github.com/omnitray/omnitray/agent/notify"
	"github.com/omnitray/omnitray/agent/secrets"
	"github.com/omnitray/omnitray/cmd/internal/cli"
	"github.com/omnitray/omnitray/desktop"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// agentFlags are the settings `omnitray run` shares with its config file.
type agentFlags struct {
	fs       *cli.FlagSet
	hub      *string
	grace    *time.Duration
	lease    *time.Duration
	insecure *bool
	config   *string
	verbose  *bool
	chatURL  *string
	reminder *time.Duration
	drift    *time.Duration
	onDrift  *string
	computer *string
}

func newAgentFlags(name, usage string) *agentFlags {
	fs := cli.NewFlagSet("omnitray", name, usage)
	f := &agentFlags{fs: fs,
		hub:      fs.String("hub", "", "the hub's base URL, e.g. https://hub.acme.example, or its replicas' separated by commas"),
		grace:    fs.Duration("grace", rules.DefaultGrace, "wait this long after chat access ends before going offline"),
		lease:    fs.Duration("lease", agent.DefaultLease, "lifetime of each Chaport status write; renewed at half-life"),
		insecure: fs.Bool("insecure", false, "allow plain http to a hub that is not on this computer"),
		config:   fs.String("config", "", "config file (JSON object of these settings; default in the user config dir)"),
		verbose:  fs.Bool("verbose", false, "log debug detail (lease renewals)"),
		chatURL: fs.String("chat-url", agent.DefaultChatURL,
			"web address of a chat, with {visitor_id} and {chat_id}, for \"Open chat\""),
		reminder: fs.Duration("chat-reminder", 2*time.Minute,
			"remind about a handed-over chat nobody answered after this long"),
		drift: fs.Duration("drift-check", agent.DefaultDriftCheck,
			"read the operator back from Chaport this often (0: never)"),
		onDrift: fs.String("on-drift", agent.DriftReconcile,
			"when Chaport shows another status than written: reconcile (set it again) or report"),
		computer: fs.String("computer-name", "",
			"how your other computers name this one (\"also active on …\"); default the host name"),
	}
	fs.Env("computer-name", "OMNITRAY_COMPUTER_NAME")
	fs.Env("hub", "OMNITRAY_HUB_URL")
	fs.Env("grace", "OMNITRAY_GRACE")
	fs.Env("lease", "OMNITRAY_LEASE")
	fs.Env("config", "OMNITRAY_CONFIG")
	return f
}

// parse applies flags, then environment, then the config file.
func (f *agentFlags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if err := f.fs.NoArgs(); err != nil {
		return err
	}
	explicit := *f.config != ""
	path, err := agentConfigPath(*f.config)
	if err != nil {
		path = "" // no config folder: flags and variables only
	}
	if path != "" {
		values, err := readConfigFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist) && !explicit:
		case err != nil:
			return cli.Usagef("config %s: %v", path, err)
		default:
			if err := f.fs.ApplyFile("config "+path, values); err != nil {
				return err
			}
		}
	}
	// Each message names the setting where it was given (flag, variable
	// or config key): "--grace" for OMNITRAY_GRACE=0 sent people hunting.
	for _, c := range []struct {
		name string
		d    time.Duration
	}{{"grace", *f.grace}, {"lease", *f.lease}, {"chat-reminder", *f.reminder}} {
		if err := f.fs.AtLeast(c.name, c.d, time.Second); err != nil {
			return err
		}
	}
	if *f.onDrift != agent.DriftReconcile && *f.onDrift != agent.DriftReport {
		return cli.Usagef("%s: want reconcile or report", f.fs.Source("on-drift"))
	}
	if *f.drift != 0 && *f.drift < time.Second {
		return cli.Usagef("%s: must be 0 (never) or at least 1s (%s)", f.fs.Source("drift-check"), cli.DurationForm)
	}
	if n := *f.computer; len(n) > feed.MaxHostBytes || strings.ContainsFunc(n, unicode.IsControl) {
		return cli.Usagef("%s: want a plain name of at most %d bytes", f.fs.Source("computer-name"), feed.MaxHostBytes)
	}
	if u, err := url.Parse(*f.chatURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return cli.Usagef("--chat-url must be an http(s) URL template")
	}
	if strings.TrimSpace(*f.hub) == "" {
		*f.hub = "" // as login takes it: not given
	} else {
		hub, err := checkHub(f.fs, *f.hub, *f.insecure)
		if err != nil {
			return err
		}
		*f.hub = hub
	}
	return nil
}

// hubForm is the accepted form of --hub, for its messages.
const hubForm = "accepted: the hub's URL such as https://hub.example:8740, or its replicas' URLs separated by commas"

// checkHub checks the hub setting (a URL, or several separated by commas) as
// the agent will use it, and returns it tidied: space around the items
// removed. Errors name where the setting came from but never repeat it,
// since a mistyped URL may hold a password.
func checkHub(fs *cli.FlagSet, hub string, insecure bool) (string, error) {
	if _, err := feed.WebsocketURLs(hub, insecure); err != nil {
		return "", cli.Usagef("%s: %v (%s)", fs.Where("hub"), err, hubForm)
	}
	items := strings.Split(hub, ",")
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return strings.Join(items, ","), nil
}

// agentConfigPath is where 'omnitray run' reads its config file and
// 'omnitray login --hub' writes it: one default for both.
func agentConfigPath(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config folder: %w", err)
	}
	return filepath.Join(dir, "omnitray", "config.json"), nil
}

// readConfigFile reads a flat JSON object; values may be strings, numbers or
// booleans and are parsed like the flags of the same names.
func readConfigFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		case bool:
			out[k] = strconv.FormatBool(v)
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return nil, fmt.Errorf("%s: want a string, number or boolean", k)
		}
	}
	if _, ok := out["token"]; ok {
		return nil, fmt.Errorf("the hub token does not belong in a file; use 'omnitray login' or OMNITRAY_TOKEN")
	}
	return out, nil
}

func (f *agentFlags) logger() *slog.Logger {
	level := slog.LevelInfo
	if *f.verbose {
		level = slog.LevelDebug
	}
	return slog.New(cli.NewLineHandler(os.Stderr, level))
}

func runAgent(ctx context.Context, args []string) error {
	f := newAgentFlags("run", "omnitray run [--headless] [flags]\n\n"+
		"Runs the agent with a tray icon, or with --headless without one. The hub token\n"+
		"comes from OMNITRAY_TOKEN, else from the OS keyring ('omnitray login').")
	headless := f.fs.Bool("headless", false, "run without a tray icon (no desktop needed)")
	if err := f.parse(args); err != nil {
		return err
	}
	log := f.logger()
	path, err := agent.ControlPath()
	if err != nil {
		return err
	}
	// One agent per user: a second start asks the first to show itself.
	if _, err := agent.ReadState(ctx, path); err == nil {
		if *headless {
			return agent.ErrAlreadyRunning
		}
		_ = agent.AskToShow(ctx, path)
		fmt.Fprintln(os.Stderr, "Omnitray is already running; its icon is in the tray.")
		return nil
	}
	// Secrets are read before the tray starts: a keyring prompt must not
	// race the tray for the session bus, and a dead keyring must fail fast.
	token := os.Getenv("OMNITRAY_TOKEN")
	if token == "" && !*headless {
		token, err = secrets.Keyring(secrets.DefaultTimeout).Get(ctx)
		if err != nil && !errors.Is(err, secrets.ErrNotFound) {
			return err
		}
	}
	if *headless {
		if *f.hub == "" {
			return cli.Usagef("--hub (or OMNITRAY_HUB_URL) is required")
		}
		if token == "" {
			return cli.Usagef("no hub token: set OMNITRAY_TOKEN to the token from 'omnitray-hub token'")
		}
	}
	var a *agent.Agent
	if token != "" && *f.hub != "" {
		a, err = agent.New(agent.Config{HubURL: *f.hub, Token: token, Insecure: *f.insecure,
			Grace: *f.grace, Lease: *f.lease, Logger: log, ChatURL: *f.chatURL,
			DriftCheck: driftCheck(*f.drift), DriftPolicy: *f.onDrift, ComputerName: *f.computer})
		if err != nil {
			return cli.Usagef("%v", err)
		}
	}
	if *headless {
		return runHeadless(ctx, a, path, log, *f.reminder)
	}
	return desktop.Run(ctx, desktop.Options{Agent: a, SignedIn: token != "", Control: path, Logger: log,
		Reminder: *f.reminder})
}

// runHeadless runs the agent without a tray until ctx ends (a signal) or
// `omnitray logout` signs it out.
func runHeadless(ctx context.Context, a *agent.Agent, control string, log *slog.Logger, reminder time.Duration) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	a.OnSignOut(func() (string, func()) {
		log.Info("signed out by 'omnitray logout'; disconnecting, the Chaport lease lapses on its own")
		return "The running agent signed out and stopped; its Chaport lease lapses on its own. " +
			"It was started with OMNITRAY_TOKEN: remove that from its environment, or its next start signs in again.", stop
	})
	if err := a.ServeControl(ctx, control, nil); err != nil {
		return err
	}
	// Headless, hand-overs are log lines: Nop shows nothing.
	go notices.RunChats(ctx, a, notify.Nop{}, notices.ChatOptions{Reminder: reminder})
	return a.Run(ctx) // which logs "agent started" and "agent stopped"
}

func runStatus(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("omnitray", "status", "omnitray status [--json]\n\n"+
		"Shows what the running agent sees and why.")
	asJSON := fs.Bool("json", false, "print the state as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fs.NoArgs(); err != nil {
		return err
	}
	path, err := agent.ControlPath()
	if err != nil {
		return err
	}
	st, err := agent.ReadState(ctx, path)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	fmt.Print(st.Format(time.Now()))
	return nil
}

// driftCheck maps the flag's 0 ("never") to the agent's negative.
func driftCheck(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
