package presence

import (
	"context"
	"log/slog"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

// callTimeout bounds every question to the desktop (a D-Bus call or an auth
// handshake): a hung service must cost one poll, not the watcher.
const callTimeout = 5 * time.Second

// idleProbe is one way of asking how long the user has been without input.
type idleProbe struct {
	name string
	read func(ctx context.Context) (time.Duration, error)
}

// idlePoller polls the first probe that answers and reports Idle changes.
type idlePoller struct {
	probes []idleProbe
	after  time.Duration
	clock  clock.Clock
	log    *slog.Logger

	cur       int // index of the probe in use; -1 while none answers
	idle      bool
	idleFor   time.Duration
	announced string // the source last logged as in use, so changes are logged once
}

func newIdlePoller(probes []idleProbe, opts Options) *idlePoller {
	return &idlePoller{probes: probes, after: opts.IdleAfter, clock: opts.Clock, log: opts.Logger, cur: -1}
}

// start takes the first reading, so that the caller can log which source is
// in use, and returns its name ("none" when no probe answers).
func (p *idlePoller) start(ctx context.Context) string {
	p.poll(ctx)
	p.announced = "none"
	if p.cur >= 0 {
		p.announced = p.probes[p.cur].name
	}
	return p.announced
}

// poll reads the current probe, or picks the first probe that answers when
// there is none or it stopped answering. On failure the last Idle stands: a
// desktop hiccup should not flip the operator online or offline.
func (p *idlePoller) poll(ctx context.Context) {
	read := func(i int) error {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		d, err := p.probes[i].read(cctx)
		if err == nil {
			p.idleFor = d
			p.idle = isIdle(d, p.after)
		}
		return err
	}
	if p.cur >= 0 {
		err := read(p.cur)
		if err == nil || ctx.Err() != nil {
			return
		}
		p.log.Warn("idle source stopped answering; trying the others", "source", p.probes[p.cur].name, "err", err)
		p.cur = -1
	}
	name := "none"
	for i := range p.probes {
		if read(i) == nil {
			p.cur, name = i, p.probes[i].name
			break
		}
	}
	if p.announced != "" && name != p.announced && ctx.Err() == nil {
		p.log.Info("idle source changed", "source", name)
		p.announced = name
	}
}

// run reports the reading taken by start, then polls until ctx ends.
func (p *idlePoller) run(ctx context.Context, post func(update)) {
	reported := false
	if p.idle {
		post(update{kind: kindIdle, on: true})
		reported = true
	}
	for {
		wait := basePoll(p.after)
		if p.cur >= 0 {
			wait = nextPoll(p.idleFor, p.after, p.idle)
		}
		t := p.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		p.poll(ctx)
		if p.idle != reported {
			post(update{kind: kindIdle, on: p.idle})
			reported = p.idle
		}
	}
}
