package desktop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os/exec"
	"runtime"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/agent/autostart"
	"github.com/omnitray/omnitray/agent/notices"
	"github.com/omnitray/omnitray/agent/notify"
	"github.com/omnitray/omnitray/agent/presence"
	"github.com/omnitray/omnitray/agent/secrets"
	"github.com/omnitray/omnitray/sync/rules"
	"github.com/omnitray/omnitray/tray"
)

// Options are what `omnitray run` settled before the desktop starts.
type Options struct {
	Agent    *agent.Agent // nil when signed out
	SignedIn bool         // a token was found (so a nil Agent means no hub URL)
	Control  string       // the control socket's path
	Logger   *slog.Logger
	Reminder time.Duration // for a handed-over chat nobody answered
}

// Run runs the desktop agent: the sync, presence signals, notifications,
// and the tray on this goroutine (on macOS it must be the main one). It
// returns once the tray has ended (Quit, sign-out, ctx) and the agent has
// stopped.
func Run(ctx context.Context, r Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := r.Logger
	n, err := notify.New(notify.Options{AppName: "Omnitray", DesktopEntry: "omnitray", Logger: log})
	if err != nil {
		log.Info("desktop notifications are unavailable; continuing without them", "err", err)
		n = notify.Nop{}
	}
	defer n.Close()
	if !trayHostPresent(ctx) {
		msg := "No system tray was found, so Omnitray shows no icon; the status sync keeps running. " +
			"On GNOME, install the AppIndicator extension."
		log.Warn(msg)
		_ = n.Notify(ctx, notify.Notification{Topic: "no-tray", Title: "Omnitray has no tray icon", Body: msg})
	}
	entry := loginItem(log)
	a := r.Agent
	agentDone := make(chan struct{})
	if a == nil {
		close(agentDone)
	}
	if a != nil {
		if err := a.ServeControl(ctx, r.Control, func() {
			_ = n.Notify(ctx, notify.Notification{Topic: "running", Title: "Omnitray is running",
				Body: "Its icon is in the system tray.", Urgency: notify.Low})
		}); err != nil {
			return err
		}
		a.OnSignOut(func() (string, func()) {
			log.Info("signed out by 'omnitray logout'; quitting so the Chaport lease lapses")
			return "The running agent signed out and quit; its Chaport lease lapses on its own.", cancel
		})
		go func() {
			defer close(agentDone)
			if err := a.Run(ctx); err != nil {
				log.Error("the agent stopped", "err", err)
				notices.SignInNeeded(ctx, n, agent.StopReason(err), log)
			}
		}()
		rest, switchN := notices.SplitSwitch(ctx, n)
		go notices.RunSwitchActions(ctx, a, switchN, openURL)
		statusN, chatN := notices.Split(ctx, rest)
		go notices.Run(ctx, a, statusN)
		go notices.RunChats(ctx, a, chatN, notices.ChatOptions{Reminder: r.Reminder, OpenURL: openURL})
		go watchPresence(ctx, a, log)
	} else {
		why := "No hub token is stored."
		if r.SignedIn {
			why = "No hub URL is set."
		}
		notices.SignInNeeded(ctx, n, why, log)
	}
	opts := tray.Options{Autostart: entry, OpenURL: openURL, Logger: log,
		Tell: func(title, body string) {
			_ = n.Notify(ctx, notify.Notification{Topic: "problem", Title: title, Body: body})
		},
		SignIn: func(ctx context.Context) {
			notices.SignInNeeded(ctx, n, "", log)
		},
		SignOut: func(ctx context.Context) {
			if err := secrets.Keyring(secrets.DefaultTimeout).Delete(ctx); err != nil {
				log.Warn("signing out", "err", err)
				return
			}
			log.Info("signed out; quitting so the Chaport lease lapses")
			cancel()
		},
	}
	if a != nil {
		opts.Agent = a
		opts.SwitchFailed = func(name string, err error) {
			_ = n.Notify(ctx, notices.Switch(name, err))
		}
	}
	tray.Run(ctx, opts)
	stopAgent(cancel, agentDone)
	return nil
}

// stopAgent ends the agent the way SIGTERM does, whatever ended the tray
// (Quit, sign-out, a signal): cancel, then wait for Run to return, which
// it does once the feed has said goodbye to the hub (close 1001) and it
// logged "agent stopped". Returning at once would end the process
// mid-connection.
func stopAgent(cancel context.CancelFunc, done <-chan struct{}) {
	cancel()
	<-done
}

// loginItem returns the start-at-login entry, repairing one that points at
// an old copy of the program (after an update or a move).
func loginItem(log *slog.Logger) tray.Autostart {
	exe, err := autostart.DefaultExe()
	if err != nil {
		return nil
	}
	e := autostart.New("omnitray", "Omnitray", exe, []string{"run"})
	if changed, err := e.Repair(); err != nil {
		log.Debug("checking the start-at-login entry", "err", err)
	} else if changed {
		log.Info("start-at-login entry repaired to point at this program", "exe", exe)
	}
	return e
}

// watchPresence feeds lock, sleep and idle into the agent. Before sleep it
// holds the inhibitor until Chaport has been set offline.
func watchPresence(ctx context.Context, a *agent.Agent, log *slog.Logger) {
	w := presence.New(presence.Options{Logger: log, BeforeSleep: func(ctx context.Context) {
		if err := a.SetPresenceAndWait(ctx, rules.Presence{Asleep: true}); err != nil {
			log.Warn("going offline before sleep", "err", err)
		}
	}})
	ch := make(chan rules.Presence, 4)
	go func() { _ = w.Run(ctx, ch) }()
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-ch:
			_ = a.SetPresence(ctx, p)
		}
	}
}

// openURL opens an http(s) page in the browser. Only http(s): the URL comes
// from the hub, and a file: or custom scheme could start anything.
func openURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("refusing to open a non-web URL")
	}
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u.String())
	case "darwin":
		cmd = exec.Command("open", u.String())
	default:
		cmd = exec.Command("xdg-open", u.String())
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("opening the browser: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// trayHostPresent is set per OS; the timeout keeps a hung bus from
// delaying start-up.
var trayHostTimeout = 2 * time.Second
