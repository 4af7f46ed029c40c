package presence

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/omnitray/omnitray/agent/testdesktop"
)

// The fakes (agent/testdesktop) run on buses of each test's own, not the
// desktop session's: `go test ./...` runs packages side by side in one
// session, and another package's fake logind or ScreenSaver would take the
// well-known names or send us its signals.

// needDesktop: these tests start their own buses (packages run side by
// side), but only where the desktop session says dbus-daemon is usable.
func needDesktop(t *testing.T) {
	t.Helper()
	testdesktop.Need(t, "system-bus")
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Fatalf("no dbus-daemon in the desktop session: %v", err)
	}
}

// testBuses gives the test its own "system" and session buses and points the
// watcher (which reads the environment at connect time) at them.
func testBuses(t *testing.T) (system, session string) {
	system, _ = testdesktop.PrivateBus(t)
	session, _ = testdesktop.PrivateBus(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", system)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", session)
	return system, session
}

// startFakeLogind starts the fake logind on the test's system bus; its
// session resolves by PID for this process only, as logind's would.
func startFakeLogind(t *testing.T, system string, opts testdesktop.LogindOptions) *testdesktop.FakeLogind {
	t.Helper()
	opts.Bus, opts.SessionPID = system, os.Getpid()
	return testdesktop.StartFakeLogind(t, opts)
}

// logRecorder is an slog handler that keeps the messages, so that tests can
// wait for the watcher to reach a point (sources set up, inhibitor taken).
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m == msg || strings.HasPrefix(m, msg+" ") {
			n++
		}
	}
	return n
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	r.mu.Lock()
	r.msgs = append(r.msgs, line)
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) last(prefix string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.msgs) - 1; i >= 0; i-- {
		if strings.HasPrefix(r.msgs[i], prefix) {
			return r.msgs[i]
		}
	}
	return ""
}
