// Package notify shows desktop notifications behind one small interface, so
// the agent can tell the employee "you go offline soon" or "connection lost"
// without knowing which desktop it runs on.
//
// Implementations:
//   - Linux and the BSDs: org.freedesktop.Notifications over a private
//     session-bus connection (never the shared one that fyne.io/systray owns),
//     with replacement per topic, actions, urgency and the desktop-entry hint.
//   - Windows: a toast shown through Windows PowerShell; no actions.
//   - macOS: osascript "display notification"; no actions, no replacement.
//   - anything else: Nop.
//
// Text is treated as untrusted (it may come from a chat visitor): titles and
// bodies are cleaned of control characters, repaired to valid UTF-8, bounded
// in size, and escaped for whatever the target renders (freedesktop body
// markup, toast XML, AppleScript string literals). Visitor text never reaches
// a process command line.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Urgency is the importance of a notification. The zero value is Normal so a
// Notification literal without Urgency is an ordinary one.
type Urgency int

const (
	Normal   Urgency = iota // default: shown, expires by the server's rules
	Low                     // FYI; servers may show it less prominently
	Critical                // stays on screen and may bypass do-not-disturb: use rarely
)

// String names the urgency for logs.
func (u Urgency) String() string {
	switch u {
	case Low:
		return "low"
	case Critical:
		return "critical"
	default:
		return "normal"
	}
}

// DefaultAction is the action key servers invoke when the bubble itself is
// clicked.
const DefaultAction = "default"

// Action is a button on the notification. Key comes back in ActionEvent;
// Label is shown to the user (plain text).
type Action struct{ Key, Label string }

// Notification is one message for the user.
type Notification struct {
	// Topic is the coalescing key: a new notification with the same topic
	// replaces the previous one on screen instead of stacking up. Empty
	// means "never coalesce".
	Topic string
	// Title is plain text, never markup; it is put on one line and trimmed
	// to 120 runes.
	Title string
	// Body is plain text; it is escaped when the server renders markup and
	// trimmed to 1000 runes (ending in "…").
	Body string
	// Actions are buttons; the key DefaultAction means a click on the bubble.
	// Only the freedesktop implementation supports them.
	Actions []Action
	Urgency Urgency
	// Timeout: 0 = the server's default; < 0 = never expire.
	Timeout time.Duration
}

// ActionEvent reports that the user invoked Key on the notification shown
// for Topic.
type ActionEvent struct{ Topic, Key string }

// Notifier shows notifications. Implementations are safe for concurrent use.
type Notifier interface {
	// Notify shows n, replacing the notification currently shown for
	// n.Topic, if any. It returns once the server accepted it or ctx ends.
	Notify(ctx context.Context, n Notification) error
	// Dismiss closes the topic's notification if it is shown; an unknown
	// topic is not an error.
	Dismiss(ctx context.Context, topic string) error
	// Actions delivers invocations on our own notifications only. It is
	// buffered; when the reader falls behind the oldest events are dropped
	// rather than stalling the D-Bus dispatcher. The channel is never
	// closed (not even by Close), so select on it together with a context.
	Actions() <-chan ActionEvent
	// Close releases the connection or helper processes. Notifications
	// already on screen stay there.
	Close() error
}

// Options configure New.
type Options struct {
	AppName      string // shown by the server as the sender; default "Omnitray"
	DesktopEntry string // .desktop basename for the desktop-entry hint; default "omnitray"
	IconPath     string // absolute path of an icon file; optional
	Logger       *slog.Logger
}

// ErrNoServer means that no notification server is available on this
// desktop. Callers typically log it once and use Nop instead.
var ErrNoServer = errors.New("no notification server")

// actionsBuffer is how many undelivered ActionEvents are kept. Clicks are
// rare and human-paced; a handful covers a briefly busy reader.
const actionsBuffer = 16

// callTimeout bounds every call to the notification server or helper
// process when the caller's context has no earlier deadline, so a hung
// server never blocks the agent.
const callTimeout = 5 * time.Second

func (o Options) withDefaults() Options {
	if o.AppName == "" {
		o.AppName = "Omnitray"
	}
	if o.DesktopEntry == "" {
		o.DesktopEntry = "omnitray"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// pushDropOldest sends ev without ever blocking: when ch is full it discards
// the oldest queued event first. It assumes a single sender per channel,
// which holds for every implementation here (one signal loop, or Fake under
// its mutex).
func pushDropOldest(ch chan ActionEvent, ev ActionEvent) (dropped bool) {
	for {
		select {
		case ch <- ev:
			return dropped
		default:
		}
		select {
		case <-ch:
			dropped = true
		default:
		}
	}
}

// Nop is a Notifier that shows nothing: for headless machines without a
// notification server. Its Actions channel is nil, so it never yields.
type Nop struct{}

func (Nop) Notify(context.Context, Notification) error { return nil }
func (Nop) Dismiss(context.Context, string) error      { return nil }
func (Nop) Actions() <-chan ActionEvent                { return nil }
func (Nop) Close() error                               { return nil }

var _ Notifier = Nop{}
