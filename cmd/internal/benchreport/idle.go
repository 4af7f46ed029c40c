package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// runIdle measures the idle agents: the tray agent needs a desktop, so the
// measuring runs as `benchreport idle-inner` inside .ci/desktop-session.sh
// and hands its figures back in WORK/idle.env.
func runIdle(ctx context.Context, c *config, work string) (results, error) {
	say("idle agents: desktop session packages")
	session := filepath.Join(c.root, ".ci", "desktop-session.sh")
	if err := runShown(ctx, c.root, "bash", session, "install"); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding benchreport's own binary: %w", err)
	}
	r := results{}
	r.put("idle.load_before", loadAverage())
	err = runShown(ctx, c.root, "bash", session, "run", "--", self, "idle-inner",
		"--idle-seconds", fmt.Sprint(c.idleSeconds), "--warmup-seconds", fmt.Sprint(c.warmupSeconds), work)
	if err != nil {
		return nil, fmt.Errorf("measuring the idle agents (logs: %s; rerun with --keep): %w",
			filepath.Join(work, "idle"), err)
	}
	inner, err := loadResults(filepath.Join(work, "idle.env"))
	if err != nil {
		return nil, err
	}
	r.merge(inner)
	r.put("idle.load_after", loadAverage())
	return r, nil
}

// runShown runs a command in dir with its output on stderr.
func runShown(ctx context.Context, dir, name string, args ...string) error {
	cmd := command(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running %s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// idleAgents are the two agents under measurement.
type idleAgents struct {
	tray, headless *child
}

// idleInner runs inside the desktop session: sandbox, hub and both agents
// online, then the window. It writes WORK/idle.env.
func idleInner(ctx context.Context, c *config, work string) error {
	var cs children
	defer cs.stopAll()
	bin := filepath.Join(work, "bin")
	d := filepath.Join(work, "idle")
	for _, sub := range []string{"tray-config", "headless-config", "headless-run"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o700); err != nil {
			return fmt.Errorf("making the idle dirs: %w", err)
		}
	}
	sb, err := startSandbox(ctx, &cs, bin, d)
	if err != nil {
		return err
	}
	hub, err := startHub(ctx, &cs, bin, d, sb)
	if err != nil {
		return err
	}
	agents, err := startAgents(ctx, &cs, bin, d, sb, hub)
	if err != nil {
		return err
	}
	icons := trayIcons()
	say("both agents online (tray icons registered: %d); settling %ds", icons, c.warmupSeconds)
	if err := sleepCtx(ctx, time.Duration(c.warmupSeconds)*time.Second); err != nil {
		return err
	}
	calls, err := sb.chaportCalls(0)
	if err != nil {
		return err
	}
	seq0 := 0
	if len(calls) > 0 {
		seq0 = calls[len(calls)-1].Seq
	}
	say("measuring %ds of idle", c.idleSeconds)
	tray, headless, secs, looks, err := measureWindow(ctx, agents, time.Duration(c.idleSeconds)*time.Second)
	if err != nil {
		return err
	}
	calls, err = sb.chaportCalls(seq0)
	if err != nil {
		return err
	}
	r := windowFigures(secs, looks, icons, statusWrites(calls))
	r.merge(agentFigures("tray", tray, secs, looks))
	r.merge(agentFigures("headless", headless, secs, looks))
	return r.save(filepath.Join(work, "idle.env"))
}

// startAgents starts the tray agent in the session (its bus, Xvfb,
// StatusNotifierWatcher) and the headless one with no desktop at all, both
// for employees set online with chat access: they hold a Chaport lease all
// the time, as on a working day.
func startAgents(ctx context.Context, cs *children, bin, d string, sb *runningSandbox, hub *runningHub) (idleAgents, error) {
	var a idleAgents
	for _, staff := range []int{201, 202} {
		if err := sb.setStatus(staff, 1); err != nil {
			return a, err
		}
	}
	t1, err := hub.token(bin, 201)
	if err != nil {
		return a, err
	}
	t2, err := hub.token(bin, 202)
	if err != nil {
		return a, err
	}
	omnitray := filepath.Join(bin, "omnitray")
	tray := exec.Command(omnitray, "run", "--hub", hub.url)
	tray.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(d, "tray-config"), "OMNITRAY_TOKEN="+t1)
	if a.tray, err = cs.start(d, "tray", tray); err != nil {
		return a, err
	}
	headless := exec.Command(omnitray, "run", "--headless", "--hub", hub.url)
	headless.Env = append(withoutEnv(os.Environ(), "DISPLAY", "DBUS_SESSION_BUS_ADDRESS"),
		"XDG_RUNTIME_DIR="+filepath.Join(d, "headless-run"), "XDG_CONFIG_HOME="+filepath.Join(d, "headless-config"),
		"OMNITRAY_TOKEN="+t2)
	if a.headless, err = cs.start(d, "headless", headless); err != nil {
		return a, err
	}
	for _, ag := range []*child{a.tray, a.headless} {
		err := waitUntil(ctx, 60*time.Second, ag.name+" agent online", func() bool {
			b, _ := os.ReadFile(ag.log)
			return strings.Contains(string(b), "Chaport online written")
		})
		if err != nil {
			return a, fmt.Errorf("%w (%s)", err, ag.logTail())
		}
	}
	return a, nil
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			keep = keep && name != n
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// trayIcons counts the items registered with the session's
// StatusNotifierWatcher: 1 when the tray agent's icon is up.
func trayIcons() int {
	out, err := exec.Command("dbus-send", "--session", "--print-reply=literal", "--reply-timeout=2000",
		"--dest=org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher", "org.freedesktop.DBus.Properties.Get",
		"string:org.kde.StatusNotifierWatcher", "string:RegisteredStatusNotifierItems").Output()
	if err != nil {
		return 0
	}
	return strings.Count(string(out), "/StatusNotifierItem")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("sleeping: %w", ctx.Err())
	case <-time.After(d):
		return nil
	}
}
