//go:build linux

package presence

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	logindName    = "org.freedesktop.login1"
	managerPath   = dbus.ObjectPath("/org/freedesktop/login1")
	managerIface  = "org.freedesktop.login1.Manager"
	sessionIface  = "org.freedesktop.login1.Session"
	propsIface    = "org.freedesktop.DBus.Properties"
	logindLockSrc = "logind"
)

// logind is the system-bus side: lock state of our session, sleep, and the
// delay inhibitor. A zero-ish value (no conn) stands for "not available".
type logind struct {
	opts    Options
	post    func(update)
	conn    *dbus.Conn
	manager dbus.BusObject
	session dbus.BusObject // nil when logind knows no session for us
	fd      *os.File       // the delay inhibitor; nil when not held
	status  string         // for the start-up log line
	sleep   string         // likewise, fixed before the goroutines start
}

// startLogind connects and starts the system-bus goroutines on wg. Failures
// leave a logind without conn: lock then comes from the ScreenSaver only.
func startLogind(ctx context.Context, opts Options, post func(update), wg *sync.WaitGroup) *logind {
	l := &logind{opts: opts, post: post, sleep: "none"}
	conn, err := dialBus(dbus.SystemBusPrivate)
	if err != nil {
		l.status = fmt.Sprintf("unavailable: %v", err)
		return l
	}
	var has bool
	err = call(ctx, conn.BusObject(), "org.freedesktop.DBus.NameHasOwner", 0, logindName).Store(&has)
	if err != nil || !has {
		_ = conn.Close()
		l.status = "no logind"
		if err != nil {
			l.status = fmt.Sprintf("cannot ask for logind: %v", err)
		}
		return l
	}
	l.conn, l.manager, l.status = conn, conn.Object(logindName, managerPath), "ok"

	sigs := make(chan *dbus.Signal, 32)
	conn.Signal(sigs)
	// Match before reading the initial state, so that no change falls in
	// between.
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(logindName),
		dbus.WithMatchObjectPath(managerPath), dbus.WithMatchInterface(managerIface),
		dbus.WithMatchMember("PrepareForSleep")); err != nil {
		l.status = fmt.Sprintf("cannot watch PrepareForSleep: %v", err)
	}
	if err := l.findSession(ctx); err != nil {
		l.status = err.Error()
	}
	l.sleep = "logind (delay inhibitor)"
	if err := l.inhibit(ctx); err != nil {
		l.sleep = fmt.Sprintf("logind, not delayed (%v)", err)
	}

	sleeps := make(chan bool, 4)
	wg.Go(func() { l.watch(ctx, sigs, sleeps) })
	wg.Go(func() { l.sleeper(ctx, sleeps) })
	return l
}

// findSession finds our session ("auto" is the caller's session, or the
// user's display session when started from systemd --user; by PID covers a
// logind that rejects "auto"), watches it and reads its LockedHint.
func (l *logind) findSession(ctx context.Context) error {
	var path dbus.ObjectPath
	err := call(ctx, l.manager, managerIface+".GetSession", 0, "auto").Store(&path)
	if err != nil {
		err2 := call(ctx, l.manager, managerIface+".GetSessionByPID", 0, uint32(os.Getpid())).Store(&path)
		if err2 != nil {
			return fmt.Errorf("find the logind session: %w (by pid: %w)", err, err2)
		}
	}
	for _, m := range [][]dbus.MatchOption{
		{dbus.WithMatchInterface(propsIface), dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchArg(0, sessionIface)},
		{dbus.WithMatchInterface(sessionIface), dbus.WithMatchMember("Lock")},
		{dbus.WithMatchInterface(sessionIface), dbus.WithMatchMember("Unlock")},
	} {
		m = append(m, dbus.WithMatchSender(logindName), dbus.WithMatchObjectPath(path))
		if err := l.conn.AddMatchSignalContext(ctx, m...); err != nil {
			return fmt.Errorf("watch the logind session: %w", err)
		}
	}
	l.session = l.conn.Object(logindName, path)
	l.readLocked(ctx)
	return nil
}

// readLocked reads LockedHint and posts it.
func (l *logind) readLocked(ctx context.Context) {
	var v dbus.Variant
	err := call(ctx, l.session, propsIface+".Get", 0, sessionIface, "LockedHint").Store(&v)
	if b, ok := v.Value().(bool); err == nil && ok {
		l.post(update{kind: kindLock, source: logindLockSrc, on: b})
	} else if ctx.Err() == nil {
		l.opts.Logger.Debug("cannot read LockedHint", "err", err)
	}
}

// watch dispatches system-bus signals until ctx ends or the bus goes away.
func (l *logind) watch(ctx context.Context, sigs <-chan *dbus.Signal, sleeps chan<- bool) {
	for {
		var s *dbus.Signal
		var ok bool
		select {
		case <-ctx.Done():
			return
		case s, ok = <-sigs:
		}
		if !ok {
			// A source that is gone must not pin the operator offline.
			l.opts.Logger.Warn("system bus connection lost; lock via logind and sleep are no longer watched")
			l.post(update{kind: kindLock, source: logindLockSrc})
			l.post(update{kind: kindSleep})
			return
		}
		switch {
		case s.Path == managerPath && s.Name == managerIface+".PrepareForSleep":
			if b, ok := bodyBool(s); ok {
				select {
				case sleeps <- b:
				case <-ctx.Done():
				}
			}
		case l.session == nil || s.Path != l.session.Path():
		case s.Name == sessionIface+".Lock", s.Name == sessionIface+".Unlock":
			// These are requests to the locker, not state; but they mean the
			// user (or an admin) wants the screen locked, which is reason
			// enough, and LockedHint overrides them when it next changes.
			l.post(update{kind: kindLock, source: logindLockSrc, on: s.Name == sessionIface+".Lock"})
		case s.Name == propsIface+".PropertiesChanged" && len(s.Body) == 3:
			changed, _ := s.Body[1].(map[string]dbus.Variant)
			invalidated, _ := s.Body[2].([]string)
			if b, ok := changed["LockedHint"].Value().(bool); ok {
				l.post(update{kind: kindLock, source: logindLockSrc, on: b})
			} else if slices.Contains(invalidated, "LockedHint") {
				l.readLocked(ctx)
			}
		}
	}
}

// sleeper handles PrepareForSleep in order, away from the signal loop, so
// that a slow BeforeSleep does not hold up lock signals.
func (l *logind) sleeper(ctx context.Context, sleeps <-chan bool) {
	for {
		select {
		case <-ctx.Done():
			return
		case going := <-sleeps:
			l.post(update{kind: kindSleep, on: going})
			if going {
				l.beforeSleep(ctx)
				l.release()
			} else if err := l.inhibit(ctx); err != nil && ctx.Err() == nil {
				l.opts.Logger.Warn("cannot re-take the sleep inhibitor after resume", "err", err)
			}
		}
	}
}

// beforeSleep runs opts.BeforeSleep, waiting at most SleepGrace: past that,
// holding the system awake is worse than a stale Chaport status.
func (l *logind) beforeSleep(ctx context.Context) {
	if l.opts.BeforeSleep == nil {
		return
	}
	gctx, cancel := context.WithTimeout(ctx, l.opts.SleepGrace)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.opts.BeforeSleep(gctx)
	}()
	select {
	case <-done:
	case <-gctx.Done():
		l.opts.Logger.Warn("BeforeSleep did not finish in time; letting the system sleep", "grace", l.opts.SleepGrace)
	}
}

// inhibit takes the delay inhibitor unless it is held. logind passes it as a
// file descriptor; sleep waits until every delay fd is closed (or
// InhibitDelayMaxSec passes).
func (l *logind) inhibit(ctx context.Context) error {
	if l.fd != nil {
		return nil
	}
	var fd dbus.UnixFD
	err := call(ctx, l.manager, managerIface+".Inhibit", 0,
		"sleep", "Omnitray", "Set the Chaport operator offline before sleep", "delay").Store(&fd)
	if err != nil {
		return fmt.Errorf("take the sleep inhibitor: %w", err)
	}
	l.fd = os.NewFile(uintptr(fd), "logind-sleep-inhibitor")
	l.opts.Logger.Debug("took the sleep inhibitor")
	return nil
}

// release lets the pending sleep proceed.
func (l *logind) release() {
	if l.fd == nil {
		return
	}
	_ = l.fd.Close()
	l.fd = nil
	l.opts.Logger.Debug("released the sleep inhibitor")
}

// close runs after the goroutines have stopped.
func (l *logind) close() {
	l.release()
	if l.conn != nil {
		_ = l.conn.Close()
	}
}

func (l *logind) lockSources() []string {
	if l.session == nil {
		return nil
	}
	return []string{logindLockSrc}
}

func (l *logind) sleepSource() string { return l.sleep }

// idleProbes offers logind's IdleHint, the last resort: KDE does not set it,
// and GNOME sets it only after its own idle delay.
func (l *logind) idleProbes() []idleProbe {
	if l.session == nil {
		return nil
	}
	return []idleProbe{{name: "logind IdleHint", read: l.readIdle}}
}

// readIdle counts idle time from IdleSinceHint, when IdleHint was last set.
// That undercounts by the desktop's own delay, so idle is reported late
// rather than early. Without a timestamp the hint alone means idle.
func (l *logind) readIdle(ctx context.Context) (time.Duration, error) {
	var props map[string]dbus.Variant
	if err := l.session.CallWithContext(ctx, propsIface+".GetAll", 0, sessionIface).Store(&props); err != nil {
		return 0, fmt.Errorf("read IdleHint: %w", err)
	}
	hint, ok := props["IdleHint"].Value().(bool)
	if !ok {
		return 0, errors.New("read IdleHint: not in the session's properties")
	}
	if !hint {
		return 0, nil
	}
	since, _ := props["IdleSinceHint"].Value().(uint64)
	if since == 0 || since > math.MaxInt64 {
		return time.Duration(math.MaxInt64), nil
	}
	return max(0, l.opts.Clock.Now().Sub(time.UnixMicro(int64(since)))), nil
}
