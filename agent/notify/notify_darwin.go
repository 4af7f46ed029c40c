//go:build darwin

package notify

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// scriptTimeout bounds one osascript run.
const scriptTimeout = 10 * time.Second

// scriptNotifier shows notifications with osascript `display notification`.
// UNUserNotificationCenter would need cgo and a signed bundle. The
// notification is attributed to Script Editor; it supports neither actions
// (Actions() never yields), replacement, nor removal (Dismiss is a no-op).
type scriptNotifier struct {
	opts   Options
	events chan ActionEvent
	mu     sync.Mutex // one osascript at a time, in order
}

// New returns the osascript notifier.
func New(opts Options) (Notifier, error) {
	return &scriptNotifier{opts: opts.withDefaults(), events: make(chan ActionEvent, actionsBuffer)}, nil
}

func (s *scriptNotifier) Notify(ctx context.Context, n Notification) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, scriptTimeout)
	defer cancel()
	// The script comes on stdin with every string escaped, so visitor text
	// is never part of a command line nor able to end a string literal.
	cmd := exec.CommandContext(ctx, "/usr/bin/osascript", "-l", "AppleScript")
	cmd.Stdin = strings.NewReader(appleScript(s.opts.AppName, n))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		} else if msg := firstLine(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return fmt.Errorf("notify: run osascript for %q: %w", n.Topic, err)
	}
	return nil
}

// Dismiss does nothing: osascript cannot remove a delivered notification.
func (s *scriptNotifier) Dismiss(context.Context, string) error { return nil }

// Actions never yields on macOS (see scriptNotifier).
func (s *scriptNotifier) Actions() <-chan ActionEvent { return s.events }

func (s *scriptNotifier) Close() error { return nil }
