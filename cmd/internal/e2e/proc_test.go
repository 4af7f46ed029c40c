package e2e

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/omnitray/omnitray/internal/syncbuf"
)

// guard bounds every wait. It is generous on purpose: CI runs the whole
// repository's tests with -race on a shared 2-core machine, and a guard only
// has to catch a hang, not measure anything.
const guard = 20 * time.Second

// procEnv is the clean environment of one test: PATH and HOME from the test
// runner, and runtime and config directories of the test's own, so that no
// agent, socket or config file of the machine (or of another test) is seen.
func procEnv(t testing.TB) []string {
	t.Helper()
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"XDG_RUNTIME_DIR=" + t.TempDir(),
		"XDG_CONFIG_HOME=" + t.TempDir(),
	}
}

// proc is one running binary.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *syncbuf.Buffer
	done           chan struct{} // closed once the process is reaped
	waitErr        error         // valid after done
}

// startProc runs bin with exactly env (plus extra) and kills it when the test
// ends. Its output is kept for assertions and shown if the test failed.
func startProc(t testing.TB, env []string, bin string, args ...string) *proc {
	t.Helper()
	return start(t, true, env, bin, args...)
}

// start is startProc; logOnFailure is off for short commands whose output the
// caller checks and reports itself.
func start(t testing.TB, logOnFailure bool, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: shortName(bin, args), stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{},
		done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if logOnFailure && t.Failed() {
			t.Logf("--- %s (pid %d) stderr:\n%s--- stdout:\n%s", p.name, p.cmd.Process.Pid,
				p.stderr.String(), p.stdout.String())
		}
	})
	return p
}

func shortName(bin string, args []string) string {
	name := bin[strings.LastIndexByte(bin, '/')+1:]
	if len(args) > 0 {
		name += " " + args[0]
	}
	return name
}

// kill SIGKILLs the process (if still running) and reaps it.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the exit status after done; -1 for a signal.
func (p *proc) exitCode() int {
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ExitCode()
	}
	if p.waitErr != nil {
		return -1
	}
	return 0
}

// result is a finished command.
type result struct {
	code           int
	stdout, stderr string
}

// runProc runs a command to completion within the guard timeout.
func runProc(t testing.TB, env []string, bin string, args ...string) result {
	t.Helper()
	p := start(t, false, env, bin, args...)
	select {
	case <-p.done:
	case <-time.After(guard):
		p.kill()
		t.Fatalf("%s %q did not exit within %s; stderr:\n%s", bin, args, guard, p.stderr.String())
	}
	return result{code: p.exitCode(), stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// waitFor polls cond every 75 ms until it holds, failing the test after the
// guard timeout. what names the condition in the failure.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !within(guard, cond) {
		t.Fatalf("timed out after %s waiting for %s", guard, what)
	}
}

// within polls cond every 75 ms until it holds (true) or limit has passed
// (false), for a caller that reports the failure itself and goes on.
func within(limit time.Duration, cond func() bool) bool {
	return withinEvery(limit, 75*time.Millisecond, cond)
}

// withinEvery is within, looking every step: for a wait that is also a
// measurement, step is its resolution.
func withinEvery(limit, step time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(step)
	}
	return true
}

// sleepUntil waits out an observation window. It is used only where a test
// asserts that something does NOT happen during the window, never to wait for
// something to happen.
func sleepUntil(at time.Time) {
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
}
