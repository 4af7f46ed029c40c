// Package presence watches the desktop for the things that mean the employee
// is not at the keyboard (screen locked, system going to sleep, no input for a
// while) and reports them as rules.Presence, so that the agent can turn the
// Chaport operator offline without waiting for the help desk to notice.
//
// Per OS:
//   - Linux talks D-Bus on private connections (never the shared session
//     connection, which fyne.io/systray owns and whose re-register loop breaks
//     when other signals arrive on it). Lock comes from logind's LockedHint and
//     Lock/Unlock signals on the system bus and from ScreenSaver ActiveChanged
//     on the session bus; sleep from logind PrepareForSleep, with a delay
//     inhibitor held so that BeforeSleep can run before the machine suspends;
//     idle from Mutter's IdleMonitor, else ScreenSaver.GetSessionIdleTime,
//     else logind's IdleHint. A missing bus or service only removes its
//     sources.
//   - Windows reports idle only (GetLastInputInfo). Lock and sleep are not
//     watched yet: they need a message-only window with WTS session
//     notifications and a power-setting callback, which is more machinery than
//     the first release warrants. New works there; it just never reports
//     Locked or Asleep, and BeforeSleep is never called.
//   - macOS and other systems get Nop: lock and sleep notifications there need
//     cgo and an AppKit run loop, which the agent does not have yet.
package presence

import (
	"context"
	"log/slog"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/rules"
)

// Options configures a Watcher. The zero value watches lock and sleep only.
type Options struct {
	// IdleAfter is how long without input counts as Idle. 0 turns idle
	// detection off, because some teams want the help-desk status alone to
	// decide.
	IdleAfter time.Duration
	Logger    *slog.Logger
	// BeforeSleep is called when the system is about to sleep, while the
	// delay inhibitor is held, so the agent can write Chaport offline before
	// the network goes away. The watcher waits for it to return, but at most
	// SleepGrace, before letting the system sleep; a BeforeSleep that ignores
	// its ctx is left running.
	BeforeSleep func(ctx context.Context)
	// SleepGrace bounds BeforeSleep; default DefaultSleepGrace. logind itself
	// stops waiting after InhibitDelayMaxSec (5 s by default).
	SleepGrace time.Duration
	// Clock drives idle polling; default the wall clock.
	Clock clock.Clock
}

// DefaultSleepGrace leaves BeforeSleep most of logind's default 5 s delay.
const DefaultSleepGrace = 3 * time.Second

// Watcher reports presence changes.
type Watcher interface {
	// Run watches until ctx ends, then returns nil. It sends the full current
	// Presence on out after every change, starting from the zero Presence (so
	// nothing is sent while the employee is present). A slow reader delays
	// nothing: changes queue up, and if too many pile up the oldest are
	// dropped, never the latest. A missing source is logged, never fatal.
	Run(ctx context.Context, out chan<- rules.Presence) error
}

// Nop returns a Watcher that reports nothing, for systems without support
// and for users who turned presence detection off.
func Nop() Watcher { return nop{} }

type nop struct{}

func (nop) Run(ctx context.Context, _ chan<- rules.Presence) error {
	<-ctx.Done()
	return nil
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SleepGrace <= 0 {
		o.SleepGrace = DefaultSleepGrace
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.IdleAfter < 0 {
		o.IdleAfter = 0
	}
	return o
}
