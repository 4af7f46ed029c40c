//go:build linux

package presence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omnitray/omnitray/sync/rules"
)

// New returns the Linux watcher (D-Bus: logind, ScreenSaver, Mutter).
func New(opts Options) Watcher { return &linuxWatcher{opts: opts.withDefaults()} }

type linuxWatcher struct{ opts Options }

// Run connects to both buses, starts whatever sources answer, and reports
// until ctx ends. Each Run has its own connections, so a second Run (after a
// restart of the agent loop, say) starts clean.
func (w *linuxWatcher) Run(ctx context.Context, out chan<- rules.Presence) error {
	if out == nil {
		return errors.New("presence: run: nil out channel")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates := make(chan update, 16)
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		runLoop(ctx, out, updates)
	}()
	post := poster(ctx, updates)

	var wg sync.WaitGroup
	sys := startLogind(ctx, w.opts, post, &wg)
	ses := startSessionBus(ctx, w.opts, post, &wg)
	idle := "off"
	if w.opts.IdleAfter > 0 {
		p := newIdlePoller(append(ses.idleProbes(), sys.idleProbes()...), w.opts)
		idle = p.start(ctx)
		wg.Go(func() { p.run(ctx, post) })
	}
	// One line at Info says what this desktop offers, so that a support
	// request ("it never goes offline when I lock") can be answered from the
	// log; the reasons for missing sources ride along instead of each
	// logging its own warning on every start.
	w.opts.Logger.Info(sourcesLine(append(sys.lockSources(), ses.lockSources()...), sys.sleepSource(), idle),
		"system_bus", sys.status, "session_bus", ses.status)

	<-ctx.Done()
	wg.Wait()
	sys.close()
	ses.close()
	<-loopDone
	return nil
}

// dialBus opens a private, authenticated connection. A private one because
// fyne.io/systray owns the shared session connection and loses its tray
// registration when unrelated signals arrive on it.
func dialBus(dial func(...dbus.ConnOption) (*dbus.Conn, error)) (*dbus.Conn, error) {
	conn, err := dial()
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	// Auth and Hello take no context; closing the connection is what
	// unblocks them if the bus accepts but never answers.
	t := time.AfterFunc(callTimeout, func() { _ = conn.Close() })
	if err = conn.Auth(nil); err != nil {
		err = fmt.Errorf("authenticate: %w", err)
	} else if err = conn.Hello(); err != nil {
		err = fmt.Errorf("say hello: %w", err)
	}
	if !t.Stop() && err == nil {
		err = errors.New("set up the connection: timed out")
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// call is a D-Bus method call bounded by callTimeout.
func call(ctx context.Context, obj dbus.BusObject, method string, flags dbus.Flags, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return obj.CallWithContext(ctx, method, flags, args...)
}

// bodyBool reads a signal's single bool argument.
func bodyBool(s *dbus.Signal) (bool, bool) {
	if len(s.Body) != 1 {
		return false, false
	}
	b, ok := s.Body[0].(bool)
	return b, ok
}
