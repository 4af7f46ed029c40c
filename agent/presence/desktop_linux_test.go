package presence

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent/testdesktop"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/rules"
)

// These run the Linux watcher against real dbus-daemons with fake logind and
// ScreenSaver services (make test-desktop).

const wait = 5 * time.Second

// startWatcher runs New(opts) until the test ends and waits until its sources
// are set up.
func startWatcher(t *testing.T, opts Options) (<-chan rules.Presence, *logRecorder) {
	t.Helper()
	logs := &logRecorder{}
	opts.Logger = slog.New(logs)
	out := make(chan rules.Presence)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(opts).Run(ctx, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil at ctx end", err)
			}
		case <-time.After(wait):
			t.Error("Run did not return after ctx end")
		}
	})
	waitLog(t, logs, sourcesPrefix, 1)
	t.Log(logs.last(sourcesPrefix))
	return out, logs
}

// sourcesPrefix starts the start-up line that names the presence sources.
const sourcesPrefix = "Chaport goes offline at once when"

func waitLog(t *testing.T, logs *logRecorder, msg string, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for logs.count(msg) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no log %q (#%d); last: %q", msg, n, logs.last(""))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func expect(t *testing.T, out <-chan rules.Presence, want rules.Presence) {
	t.Helper()
	select {
	case got := <-out:
		if got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	case <-time.After(wait):
		t.Fatalf("no presence change, want %+v", want)
	}
}

// expectNone checks briefly that nothing was reported; only a smoke check,
// since "not yet" cannot be observed exactly.
func expectNone(t *testing.T, out <-chan rules.Presence) {
	t.Helper()
	select {
	case got := <-out:
		t.Fatalf("unexpected presence change %+v", got)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestDesktopLockedHint(t *testing.T) {
	needDesktop(t)
	system, _ := testBuses(t)
	fl := startFakeLogind(t, system, testdesktop.LogindOptions{})
	out, logs := startWatcher(t, Options{})
	if line := logs.last(sourcesPrefix); !strings.Contains(line, "screen locks (via logind") {
		t.Errorf("start-up log does not list logind as a lock source: %q", line)
	}

	fl.SetLocked(true)
	expect(t, out, rules.Presence{Locked: true})
	fl.SetLocked(false)
	expect(t, out, rules.Presence{})

	// Session.Lock/Unlock (loginctl lock-session) count too.
	fl.Lock()
	expect(t, out, rules.Presence{Locked: true})
	fl.Unlock()
	expect(t, out, rules.Presence{})
}

// TestDesktopSessionByPID covers a logind that rejects "auto" and a screen
// already locked when the watcher starts.
func TestDesktopSessionByPID(t *testing.T) {
	needDesktop(t)
	system, _ := testBuses(t)
	startFakeLogind(t, system, testdesktop.LogindOptions{Locked: true, NoAutoSession: true})
	out, _ := startWatcher(t, Options{})
	expect(t, out, rules.Presence{Locked: true})
}

func TestDesktopScreenSaverActive(t *testing.T) {
	needDesktop(t)
	system, session := testBuses(t)
	startFakeLogind(t, system, testdesktop.LogindOptions{})
	ss := testdesktop.StartFakeScreenSaver(t, session)
	out, _ := startWatcher(t, Options{})

	ss.SetActive(true)
	expect(t, out, rules.Presence{Locked: true})
	ss.SetActive(false)
	expect(t, out, rules.Presence{})
}

func TestDesktopSleep(t *testing.T) {
	needDesktop(t)
	system, _ := testBuses(t)
	fl := startFakeLogind(t, system, testdesktop.LogindOptions{})
	called, proceed := make(chan struct{}), make(chan struct{})
	out, logs := startWatcher(t, Options{
		SleepGrace: time.Minute, // this test wants BeforeSleep to decide
		BeforeSleep: func(context.Context) {
			close(called)
			<-proceed
		},
	})
	inh := takenInhibitor(t, fl, logs, 1)
	if want := (testdesktop.Inhibitor{What: "sleep", Who: "Omnitray", Why: "Set the Chaport operator offline before sleep", Mode: "delay"}); inh.Inhibitor != want {
		t.Errorf("Inhibit%+v, want %+v", inh.Inhibitor, want)
	}

	fl.PrepareForSleep(true)
	expect(t, out, rules.Presence{Asleep: true})
	select {
	case <-called:
	case <-time.After(wait):
		t.Fatal("BeforeSleep not called")
	}
	select {
	case <-inh.Released():
		t.Fatal("inhibitor released while BeforeSleep was still running")
	case <-time.After(200 * time.Millisecond):
	}
	close(proceed)
	select {
	case <-inh.Released():
	case <-time.After(wait):
		t.Fatal("inhibitor not released after BeforeSleep returned")
	}

	fl.PrepareForSleep(false)
	expect(t, out, rules.Presence{})
	takenInhibitor(t, fl, logs, 2)
}

// TestDesktopSleepGrace shows that a BeforeSleep that hangs cannot keep the
// system awake past SleepGrace.
func TestDesktopSleepGrace(t *testing.T) {
	needDesktop(t)
	system, _ := testBuses(t)
	fl := startFakeLogind(t, system, testdesktop.LogindOptions{})
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	ctxEnded := make(chan struct{})
	out, logs := startWatcher(t, Options{
		SleepGrace: 100 * time.Millisecond,
		BeforeSleep: func(ctx context.Context) {
			<-ctx.Done()
			close(ctxEnded)
			<-hang // ignores its ctx from here on
		},
	})
	inh := takenInhibitor(t, fl, logs, 1)
	fl.PrepareForSleep(true)
	expect(t, out, rules.Presence{Asleep: true})
	for _, ch := range []<-chan struct{}{ctxEnded, inh.Released()} {
		select {
		case <-ch:
		case <-time.After(wait):
			t.Fatal("BeforeSleep's ctx not ended or inhibitor not released after SleepGrace")
		}
	}
}

// takenInhibitor returns the nth inhibitor once the watcher holds it, with
// the fake's own copy of the descriptor dropped, so that Released tells when
// the watcher lets go.
func takenInhibitor(t *testing.T, fl *testdesktop.FakeLogind, logs *logRecorder, n int) *testdesktop.Inhibition {
	t.Helper()
	// The reply (and with it the fd) has reached the watcher once it logs.
	waitLog(t, logs, "took the sleep inhibitor", n)
	return fl.WaitInhibition(t, n)
}

func TestDesktopIdleScreenSaver(t *testing.T) {
	needDesktop(t)
	system, session := testBuses(t)
	startFakeLogind(t, system, testdesktop.LogindOptions{})
	ss := testdesktop.StartFakeScreenSaver(t, session)
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	out, logs := startWatcher(t, Options{IdleAfter: time.Minute, Clock: fc})
	if line := logs.last(sourcesPrefix); !strings.Contains(line, "(via ScreenSaver GetSessionIdleTime)") {
		t.Errorf("start-up log does not pick the ScreenSaver for idle: %q", line)
	}

	waitPending(t, fc)
	ss.SetIdleTime(120 * time.Second)
	fc.Advance(basePoll(time.Minute))
	expect(t, out, rules.Presence{Idle: true})

	waitPending(t, fc)
	ss.SetIdleTime(0)
	fc.Advance(minPoll)
	expect(t, out, rules.Presence{})
}

// TestDesktopIdleLogind: without Mutter or a ScreenSaver, logind's IdleHint
// is the source, and idle time counts from IdleSinceHint.
func TestDesktopIdleLogind(t *testing.T) {
	needDesktop(t)
	system, _ := testBuses(t)
	fl := startFakeLogind(t, system, testdesktop.LogindOptions{})
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	fl.SetIdle(true, fc.Now().Add(-30*time.Second))
	out, logs := startWatcher(t, Options{IdleAfter: time.Minute, Clock: fc})
	if line := logs.last(sourcesPrefix); !strings.Contains(line, "(via logind IdleHint)") {
		t.Errorf("start-up log does not pick logind for idle: %q", line)
	}
	waitPending(t, fc)
	fc.Advance(basePoll(time.Minute)) // 40 s since the hint: not yet
	waitPending(t, fc)
	expectNone(t, out)
	fc.Advance(30 * time.Second)
	expect(t, out, rules.Presence{Idle: true})
}

// TestDesktopNoSystemBus: without a system bus the watcher still runs, with
// the ScreenSaver as its only lock source and no sleep inhibitor.
func TestDesktopNoSystemBus(t *testing.T) {
	needDesktop(t)
	_, session := testBuses(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "none"))
	ss := testdesktop.StartFakeScreenSaver(t, session)
	out, logs := startWatcher(t, Options{})
	line := logs.last(sourcesPrefix)
	if !strings.Contains(line, "not seen on this desktop: sleep") || !strings.Contains(line, "system_bus=unavailable") {
		t.Errorf("start-up log does not say the system bus is missing: %q", line)
	}
	ss.SetActive(true)
	expect(t, out, rules.Presence{Locked: true})
}
