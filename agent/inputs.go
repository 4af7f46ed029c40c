package agent

import (
	"context"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// inputs are what the employee and the desktop ask of the loop, besides
// the Omnidesk status: a pause, "stay online", and presence (lock, sleep,
// idle). They only feed the mapping; none of them is due at any time.
type inputs struct {
	paused          bool
	stayOnlineUntil time.Time
	presence        rules.Presence
}

// presenceState is this computer's presence as the hub's feed spells it
// (devices.go reports it).
func (in *inputs) presenceState() string {
	switch {
	case in.paused:
		return feed.PresencePaused
	case in.presence.Asleep:
		return feed.PresenceAsleep
	case in.presence.Locked:
		return feed.PresenceLocked
	case in.presence.Idle:
		return feed.PresenceIdle
	}
	return feed.PresencePresent
}

// waiters are closed once no write is running or due: SetPresenceAndWait
// holds a sleep inhibitor until then.
type waiters []chan struct{}

// release closes every waiter.
func (w *waiters) release() {
	for _, ch := range *w {
		close(ch)
	}
	*w = nil
}

// Pause stops (or resumes) writing to Chaport; a live lease then lapses.
func (a *Agent) Pause(ctx context.Context, paused bool) error {
	return a.do(ctx, func(l *loop) { l.inputs.paused = paused })
}

// StayOnlineFor is how long "Stay online" (in the tray's menu and on the
// going-offline notice) postpones a pending offline.
const StayOnlineFor = 5 * time.Minute

// StayOnline postpones a pending offline by d from now.
func (a *Agent) StayOnline(ctx context.Context, d time.Duration) error {
	return a.do(ctx, func(l *loop) { l.inputs.stayOnlineUntil = a.clock.Now().Add(d) })
}

// SetPresence reports screen lock, sleep and idle.
func (a *Agent) SetPresence(ctx context.Context, p rules.Presence) error {
	return a.do(ctx, func(l *loop) { l.inputs.presence = p })
}

// SetPresenceAndWait reports presence and returns once the Chaport write it
// causes (if any) has finished, so that a sleep inhibitor is held until
// Chaport really says offline. ctx bounds the wait.
func (a *Agent) SetPresenceAndWait(ctx context.Context, p rules.Presence) error {
	done := make(chan struct{})
	if err := a.do(ctx, func(l *loop) {
		l.inputs.presence = p
		l.settled = append(l.settled, done)
	}); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
