//go:build linux

package presence

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// screenSavers are the lockers' interfaces on the session bus. KDE and most
// others implement the freedesktop one; GNOME Shell the gnome one.
var screenSavers = []struct {
	iface string
	path  dbus.ObjectPath
}{
	{"org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver"},
	{"org.gnome.ScreenSaver", "/org/gnome/ScreenSaver"},
}

// sessionBus is the session-bus side: ScreenSaver lock state and the idle
// probes. Without conn it offers nothing.
type sessionBus struct {
	opts     Options
	post     func(update)
	conn     *dbus.Conn
	answered []string // screensavers that answered GetActive at start
	status   string
}

// startSessionBus connects and starts the signal goroutine on wg.
func startSessionBus(ctx context.Context, opts Options, post func(update), wg *sync.WaitGroup) *sessionBus {
	b := &sessionBus{opts: opts, post: post}
	// NoAutoStartup: without a session bus godbus would otherwise exec
	// dbus-launch and start a stray bus of its own.
	conn, err := dialBus(dbus.SessionBusPrivateNoAutoStartup)
	if err != nil {
		b.status = fmt.Sprintf("unavailable: %v", err)
		return b
	}
	b.conn, b.status = conn, "ok"
	sigs := make(chan *dbus.Signal, 32)
	conn.Signal(sigs)
	for _, ss := range screenSavers {
		// Watched even when nobody owns the name yet: lockers often start
		// after the agent's autostart entry.
		if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchInterface(ss.iface),
			dbus.WithMatchMember("ActiveChanged")); err != nil {
			b.status = fmt.Sprintf("cannot watch %s: %v", ss.iface, err)
			continue
		}
		var active bool
		err := call(ctx, conn.Object(ss.iface, ss.path), ss.iface+".GetActive", dbus.FlagNoAutoStart).Store(&active)
		if err == nil {
			b.answered = append(b.answered, ss.iface)
			post(update{kind: kindLock, source: ss.iface, on: active})
		}
	}
	wg.Go(func() { b.watch(ctx, sigs) })
	return b
}

// watch turns ActiveChanged signals into lock updates until ctx ends or the
// bus goes away.
func (b *sessionBus) watch(ctx context.Context, sigs <-chan *dbus.Signal) {
	for {
		var s *dbus.Signal
		var ok bool
		select {
		case <-ctx.Done():
			return
		case s, ok = <-sigs:
		}
		if !ok {
			b.opts.Logger.Warn("session bus connection lost; ScreenSaver lock and idle are no longer watched")
			for _, ss := range screenSavers {
				b.post(update{kind: kindLock, source: ss.iface})
			}
			return
		}
		for _, ss := range screenSavers {
			if active, ok := bodyBool(s); ok && s.Name == ss.iface+".ActiveChanged" {
				b.post(update{kind: kindLock, source: ss.iface, on: active})
			}
		}
	}
}

func (b *sessionBus) close() {
	if b.conn != nil {
		_ = b.conn.Close()
	}
}

// lockSources names the screensavers that answered at start. ActiveChanged
// is watched on both interfaces anyway, for lockers that start later.
func (b *sessionBus) lockSources() []string { return b.answered }

// idleProbes offers Mutter first (GNOME, X11 and Wayland alike), then the
// freedesktop ScreenSaver (KDE and others; GNOME does not implement it).
func (b *sessionBus) idleProbes() []idleProbe {
	if b.conn == nil {
		return nil
	}
	mutter := b.conn.Object("org.gnome.Mutter.IdleMonitor", "/org/gnome/Mutter/IdleMonitor/Core")
	saver := b.conn.Object(screenSavers[0].iface, screenSavers[0].path)
	return []idleProbe{
		{name: "Mutter IdleMonitor", read: func(ctx context.Context) (time.Duration, error) {
			var ms uint64
			if err := mutter.CallWithContext(ctx, "org.gnome.Mutter.IdleMonitor.GetIdletime", dbus.FlagNoAutoStart).Store(&ms); err != nil {
				return 0, fmt.Errorf("ask Mutter: %w", err)
			}
			return time.Duration(min(ms, uint64(1<<62)/uint64(time.Millisecond))) * time.Millisecond, nil
		}},
		{name: "ScreenSaver GetSessionIdleTime", read: func(ctx context.Context) (time.Duration, error) {
			var s uint32
			if err := saver.CallWithContext(ctx, screenSavers[0].iface+".GetSessionIdleTime", dbus.FlagNoAutoStart).Store(&s); err != nil {
				return 0, fmt.Errorf("ask the ScreenSaver: %w", err)
			}
			return time.Duration(s) * time.Second, nil
		}},
	}
}
