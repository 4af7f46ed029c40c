//go:build windows

package notify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// toastTimeout bounds one PowerShell run. A cold start of powershell.exe
// plus the WinRT type load can take a few seconds on a busy machine.
const toastTimeout = 15 * time.Second

// createNoWindow is CREATE_NO_WINDOW: no console flashes up for the child.
const createNoWindow = 0x08000000

// toastNotifier shows toasts through Windows PowerShell's WinRT bridge, so
// the agent needs neither cgo nor a COM binding. Actions are not
// supported: clicks would need a registered COM activator, so Actions()
// never yields. Coalescing uses the toast Tag (= topic), which makes
// Windows replace the previous toast with the same tag and group.
type toastNotifier struct {
	opts   Options
	exe    string
	events chan ActionEvent
	// mu serialises runs: a burst of notifications then costs one
	// PowerShell at a time instead of many, and a replacement can never
	// overtake the toast it replaces.
	mu    sync.Mutex
	shown map[string]bool // topics we showed, so Dismiss skips a run for unknown ones
}

// New returns the toast notifier. It does not start PowerShell; a missing
// powershell.exe surfaces as an error from Notify.
func New(opts Options) (Notifier, error) {
	root := os.Getenv("SystemRoot")
	if root == "" {
		root = `C:\Windows`
	}
	// An absolute path, so a powershell.exe in the working directory or on
	// a user-writable PATH entry is never picked up.
	exe := filepath.Join(root, "System32", "WindowsPowerShell", "v1.0", "powershell.exe")
	return &toastNotifier{opts: opts.withDefaults(), exe: exe,
		events: make(chan ActionEvent, actionsBuffer), shown: map[string]bool{}}, nil
}

func (t *toastNotifier) Notify(ctx context.Context, n Notification) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	tag := toastTag(n.Topic)
	if err := t.run(ctx, toastRequest("show", tag, n.Timeout, toastXML(t.opts.AppName, t.opts.IconPath, n))); err != nil {
		return fmt.Errorf("notify: show %q toast: %w", n.Topic, err)
	}
	if n.Topic != "" {
		t.shown[n.Topic] = true
	}
	return nil
}

func (t *toastNotifier) Dismiss(ctx context.Context, topic string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.shown[topic] {
		return nil
	}
	delete(t.shown, topic)
	if err := t.run(ctx, toastRequest("dismiss", toastTag(topic), 0, "")); err != nil {
		return fmt.Errorf("notify: remove %q toast: %w", topic, err)
	}
	return nil
}

// Actions never yields on Windows (see toastNotifier).
func (t *toastNotifier) Actions() <-chan ActionEvent { return t.events }

func (t *toastNotifier) Close() error { return nil }

// run starts the constant script with the request on stdin.
func (t *toastNotifier) run(ctx context.Context, stdin string) error {
	ctx, cancel := context.WithTimeout(ctx, toastTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.exe, "-NoLogo", "-NoProfile", "-NonInteractive",
		"-WindowStyle", "Hidden", "-EncodedCommand", encodePowerShell(toastScript))
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second // don't wait on pipes a stuck grandchild keeps open
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("run powershell: %w", ctx.Err())
		}
		if msg := firstLine(stderr.String()); msg != "" {
			return fmt.Errorf("run powershell: %w: %s", err, msg)
		}
		return fmt.Errorf("run powershell: %w", err)
	}
	return nil
}
