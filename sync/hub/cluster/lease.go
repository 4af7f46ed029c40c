package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/omnitray/omnitray/sync/hub"
)

// leaseState is what this replica knows of the lease; Cluster.mu guards it.
type leaseState struct {
	// want is set while a Lead call waits to be elected, with leadCtx its
	// context (a term's context derives from it).
	want    bool
	leadCtx context.Context
	// busy is set while a Lead call runs: there is one at a time.
	busy bool
	// elected hands a new term to the waiting Lead call.
	elected chan *term
	// term is non-nil while this replica leads.
	term *term
	// holder is the node the lease named when last read ("" for none), at
	// readAt (monotonic); a read that failed leaves both.
	holder string
	readAt time.Time
}

// term is one stretch of leadership.
type term struct {
	ctx    context.Context // the lead func's; cancelled as the term ends
	cancel context.CancelFunc
	timer  *time.Timer // ends the term when its proof runs out
	// rev is the lease key's revision as last written by this term.
	rev uint64
	// validUntil (monotonic) and wallUntil (wall clock) end the proof: a
	// process stopped by a suspended VM does not see its monotonic clock
	// advance, but it does see the wall clock (NTP) jump.
	validUntil, wallUntil time.Time
	// unconfirmed: a renewal went out and got no answer, so the key's
	// revision may be that renewal's.
	unconfirmed bool
}

// leaseValue names this process in the lease: the node, and an instance id
// so that a restarted process does not take its predecessor's lease as its
// own (it waits for it to be released or to expire, like anyone).
func (c *Cluster) leaseValue() []byte {
	b, _ := json.Marshal(leaseHolder{Node: c.opts.NodeName, Instance: c.instance})
	return b
}

type leaseHolder struct {
	Node     string `json:"node"`
	Instance string `json:"instance"`
}

func parseHolder(v []byte) leaseHolder {
	var h leaseHolder
	if json.Unmarshal(v, &h) != nil {
		h.Node = "?"
	}
	return h
}

// proofUntil is when a write sent at sent stops proving the lease: the key
// was stamped no earlier than sent, and lives ttl by the clock of the
// server that expires it, which may be ClockMargin ahead.
func (c *Cluster) proofUntil(sent time.Time) (mono, wall time.Time) {
	c.mu.Lock()
	d := c.leaseTTL - c.opts.ClockMargin
	c.mu.Unlock()
	return sent.Add(d), sent.Round(0).Add(d)
}

// Lead calls lead each time this replica is elected, with a context that
// ends with its leadership. There is one Lead call at a time; a second one
// only waits for ctx. When ctx ends, Lead waits for lead to return, then
// gives the lease up so that another replica takes over at once.
func (c *Cluster) Lead(ctx context.Context, lead func(ctx context.Context)) {
	c.mu.Lock()
	if c.closed.Load() || c.ls.busy {
		c.mu.Unlock()
		c.log.Error("cluster: Lead called while another Lead call runs, or after Close; this one will not lead")
		<-ctx.Done()
		return
	}
	c.ls.busy = true
	c.leads.Add(1)
	c.mu.Unlock()
	defer c.leads.Done()
	defer func() {
		c.mu.Lock()
		c.ls.busy = false
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel) // Close ends leading too
	defer stop()
	for {
		t, err := c.campaign(ctx)
		if err != nil {
			return
		}
		lead(t.ctx)
		c.endTerm(t, "")
		// Given up even when lead returned on its own while the term
		// lasted: it may have failed, and another replica may do better.
		c.release(ctx)
		if ctx.Err() != nil {
			return
		}
	}
}

// campaign waits until the lease loop wins the lease for this replica.
func (c *Cluster) campaign(ctx context.Context) (*term, error) {
	c.mu.Lock()
	c.ls.want, c.ls.leadCtx = true, ctx
	c.mu.Unlock()
	select {
	case t := <-c.ls.elected:
		return t, nil
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.ls.want, c.ls.leadCtx = false, nil
	c.mu.Unlock()
	// Elected just as ctx ended: give it back.
	select {
	case t := <-c.ls.elected:
		c.endTerm(t, "")
		c.release(ctx)
	default:
	}
	return nil, ctx.Err()
}

// endTerm ends t if it is the current term. reason, if set, is logged.
func (c *Cluster) endTerm(t *term, reason string) {
	c.mu.Lock()
	current := c.ls.term == t
	if current {
		c.ls.term = nil
	}
	c.mu.Unlock()
	t.timer.Stop()
	t.cancel()
	if current && reason != "" {
		c.log.Warn("cluster: no longer leading", "node", c.opts.NodeName, "why", reason)
	}
}

// release deletes the lease if it still names this process, so that a
// follower's next look finds it free instead of waiting for it to expire.
// ctx may have ended: release has its own short deadline. A renewal still
// in flight, or a read served by a replica a write behind, makes the
// delete miss the revision: it is tried again.
func (c *Cluster) release(ctx context.Context) {
	<-c.ready // a term implies ready
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		e, err := c.lease.Get(ctx, leaseKey)
		if err != nil {
			return // expired, taken over or unreachable: nothing to give up
		}
		if h := parseHolder(e.Value()); h.Node != c.opts.NodeName || h.Instance != c.instance {
			return
		}
		err = c.lease.Delete(ctx, leaseKey, jetstream.LastRevision(e.Revision()))
		if err == nil {
			c.log.Info("cluster: gave up the lead", "node", c.opts.NodeName)
			return
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			c.log.Debug("cluster: giving up the lease failed; it will expire", "err", err)
			return
		}
		sleep(ctx, 50*time.Millisecond)
	}
}

// Fence returns nil while this replica's leadership is proven.
func (c *Cluster) Fence() error {
	c.mu.Lock()
	t := c.ls.term
	ok := t != nil && c.proven(t)
	c.mu.Unlock()
	if !ok {
		if t != nil {
			c.endTerm(t, "its lease was not renewed in time")
		}
		return hub.ErrNotLeader
	}
	return nil
}

// proven says whether t's proof holds now; c.mu is held.
func (c *Cluster) proven(t *term) bool {
	if t.ctx.Err() != nil {
		return false
	}
	now := c.opts.now()
	return now.Before(t.validUntil) && now.Round(0).Before(t.wallUntil)
}

// leaseLoop does all the lease's I/O: while this replica leads it renews
// the lease; otherwise it reads it, for Health, and takes it when it is
// free and a Lead call wants it.
func (c *Cluster) leaseLoop(ctx context.Context) {
	if c.waitReady(ctx) != nil {
		return
	}
	var next time.Duration
	for sleep(ctx, next) {
		if c.opts.frozen != nil && c.opts.frozen() {
			next = c.opts.RenewEvery / 4
			continue
		}
		c.mu.Lock()
		t := c.ls.term
		c.mu.Unlock()
		if t != nil {
			next = c.renew(ctx, t)
		} else {
			next = c.look(ctx)
		}
	}
	c.mu.Lock()
	t := c.ls.term
	c.mu.Unlock()
	if t != nil {
		c.endTerm(t, "") // closing
	}
}

// renew renews t's lease once and returns when to renew next.
func (c *Cluster) renew(ctx context.Context, t *term) time.Duration {
	sent := c.opts.now()
	c.mu.Lock()
	rev, left := t.rev, t.validUntil.Sub(sent)
	c.mu.Unlock()
	if left <= 0 || t.ctx.Err() != nil {
		c.endTerm(t, "its lease was not renewed in time")
		return 0
	}
	// Each try is bounded so that a lost request leaves time for another
	// before the proof runs out.
	actx, cancel := context.WithTimeout(t.ctx, min(left, c.opts.RenewEvery))
	newRev, err := c.lease.Update(actx, leaseKey, c.leaseValue(), rev)
	cancel()
	switch {
	case err == nil:
		mono, wall := c.proofUntil(sent)
		c.mu.Lock()
		if c.ls.term == t {
			t.rev, t.unconfirmed = newRev, false
			t.validUntil, t.wallUntil = mono, wall
			t.timer.Reset(mono.Sub(c.opts.now()))
			c.ls.holder, c.ls.readAt = c.opts.NodeName, c.opts.now()
		}
		c.mu.Unlock()
		return max(0, c.opts.RenewEvery-c.opts.now().Sub(sent))
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		if c.adoptUnconfirmed(ctx, t, rev) {
			return 0
		}
		c.endTerm(t, "another replica holds the lease")
		return 0
	default:
		if t.ctx.Err() != nil {
			return 0
		}
		c.mu.Lock()
		t.unconfirmed = true
		c.mu.Unlock()
		c.log.Debug("cluster: renewing the leader lease failed; retrying while it lasts", "err", err)
		return min(c.opts.RenewEvery/8, 100*time.Millisecond)
	}
}

// adoptUnconfirmed handles a renewal refused for its revision after an
// earlier one went unanswered: if that one was stored, the key names this
// process at a later revision. Nobody else can have written in between
// (their write would have changed the revision the unanswered one
// expected), and the proof still runs from the last confirmed renewal,
// which was sent before it, so the revision is simply taken over.
func (c *Cluster) adoptUnconfirmed(ctx context.Context, t *term, rev uint64) bool {
	c.mu.Lock()
	unconfirmed := t.unconfirmed
	c.mu.Unlock()
	if !unconfirmed {
		return false
	}
	gctx, cancel := context.WithTimeout(ctx, c.opts.RenewEvery)
	defer cancel()
	e, err := c.lease.Get(gctx, leaseKey)
	if err != nil {
		return false
	}
	h := parseHolder(e.Value())
	if h.Node != c.opts.NodeName || h.Instance != c.instance || e.Revision() <= rev {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ls.term != t {
		return false
	}
	t.rev, t.unconfirmed = e.Revision(), false
	return true
}

// look reads the lease, takes it if it is free (or this process's own) and
// a Lead call wants it, and returns when to look next.
func (c *Cluster) look(ctx context.Context) time.Duration {
	gctx, cancel := context.WithTimeout(ctx, c.opts.RenewEvery)
	e, err := c.lease.Get(gctx, leaseKey)
	cancel()
	now := c.opts.now()
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound): // never taken, released, or expired
		c.mu.Lock()
		c.ls.holder, c.ls.readAt = "", now
		c.mu.Unlock()
		c.acquire(ctx, 0)
		return c.opts.RenewEvery
	case err != nil:
		c.log.Debug("cluster: reading the leader lease failed", "err", err)
		return c.opts.RenewEvery
	}
	h := parseHolder(e.Value())
	c.mu.Lock()
	c.ls.holder, c.ls.readAt = h.Node, now
	ttl := c.leaseTTL
	c.mu.Unlock()
	if h.Node == c.opts.NodeName && h.Instance == c.instance {
		// Ours, from a term that ended (renewals that failed for a while):
		// taking it back by its revision is safe, nobody else holds it.
		c.acquire(ctx, e.Revision())
		return c.opts.RenewEvery
	}
	// Look again as it expires if the holder stopped renewing, rather than
	// up to RenewEvery later. Created is the storing server's clock: only a
	// hint for when to look, the lease's safety does not rest on it.
	return min(c.opts.RenewEvery, max(c.opts.RenewEvery/5, time.Until(e.Created().Add(ttl))+25*time.Millisecond))
}

// acquire takes the lease by revision (0: create it) if a Lead call wants
// it, and hands the new term to that call.
func (c *Cluster) acquire(ctx context.Context, rev uint64) {
	c.mu.Lock()
	want := c.ls.want
	c.mu.Unlock()
	if !want {
		return
	}
	sent := c.opts.now()
	actx, cancel := context.WithTimeout(ctx, c.opts.RenewEvery)
	var err error
	if rev == 0 {
		rev, err = c.lease.Create(actx, leaseKey, c.leaseValue())
	} else {
		rev, err = c.lease.Update(actx, leaseKey, c.leaseValue(), rev)
	}
	cancel()
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			c.log.Debug("cluster: taking the leader lease failed", "err", err)
		}
		return // another replica was quicker, or try again at the next look
	}
	mono, wall := c.proofUntil(sent)
	c.mu.Lock()
	if !c.ls.want {
		c.mu.Unlock()
		c.release(ctx)
		return
	}
	tctx, tcancel := context.WithCancel(c.ls.leadCtx)
	t := &term{ctx: tctx, cancel: tcancel, rev: rev, validUntil: mono, wallUntil: wall}
	t.timer = time.AfterFunc(mono.Sub(c.opts.now()), func() { c.expire(t) })
	c.ls.want, c.ls.leadCtx = false, nil
	c.ls.term = t
	c.ls.holder, c.ls.readAt = c.opts.NodeName, c.opts.now()
	c.ls.elected <- t // Lead takes it; nothing else is sent until it wants again
	c.mu.Unlock()
	c.log.Info("cluster: leading", "node", c.opts.NodeName)
	c.wg.Go(func() { c.moveKVLeaders(tctx) })
}

// expire ends t when its proof has run out (its timer; a renewal may have
// moved the deadline meanwhile).
func (c *Cluster) expire(t *term) {
	c.mu.Lock()
	live := c.ls.term == t && c.proven(t)
	c.mu.Unlock()
	if !live {
		c.endTerm(t, "its lease was not renewed in time")
	}
}

// moveKVLeaders keeps the RAFT leaders of the buckets' streams off this
// replica while it leads. NATS elects a stream's new leader only after 4 to
// 9 seconds: if the hub leader hosted the lease's and were killed, the
// lease could not expire and be taken for that long. Moved away, a killed
// hub leader takes only a follower of the streams with it.
func (c *Cluster) moveKVLeaders(ctx context.Context) {
	if c.srv == nil || c.size < 3 || c.opts.keepKVLeaders {
		return // external mode: the NATS servers do not die with the hub
	}
	for {
		for _, b := range []string{leaseBucket, stateBucket} {
			stream := "KV_" + b
			if c.srv.JetStreamIsStreamLeader(globalAccount, stream) {
				if err := c.stepDownStream(ctx, stream); err != nil && ctx.Err() == nil {
					c.log.Debug("cluster: moving a stream's leader off the hub leader", "stream", stream, "err", err)
				}
			}
		}
		if !sleep(ctx, 2*time.Second) {
			return
		}
	}
}

// stepDownStream asks JetStream to move stream's leader to another replica,
// if two others are current: with fewer, a killed leader would leave no
// quorum anyway, and a step-down would only pause the stream.
func (c *Cluster) stepDownStream(ctx context.Context, stream string) error {
	// Only with every replica heard from lately: a replica that froze (or
	// died) moments ago may still count as current to the stream, and a
	// step-down that hands the stream to it stalls the stream for a whole
	// election, the lease with it: the new hub leader would lose its lease
	// moments after winning it.
	c.mu.Lock()
	alive := c.aliveCount(c.opts.now())
	c.mu.Unlock()
	if alive < c.size-1 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := c.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("reading stream info: %w", err)
	}
	info := s.CachedInfo()
	current := 0
	if info.Cluster != nil {
		if info.Cluster.Leader != c.opts.NodeName {
			return nil
		}
		for _, p := range info.Cluster.Replicas {
			if p.Current && !p.Offline {
				current++
			}
		}
	}
	if current < 2 {
		return nil
	}
	msg, err := c.nc.RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, nil)
	if err != nil {
		return fmt.Errorf("requesting the step-down: %w", err)
	}
	var resp struct {
		Success bool `json:"success"`
		Error   *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("reading the step-down's answer: %w", err)
	}
	if !resp.Success {
		desc := "refused"
		if resp.Error != nil {
			desc = resp.Error.Description
		}
		return fmt.Errorf("step-down: %s", desc)
	}
	c.log.Debug("cluster: moved a stream's leader off the hub leader", "stream", stream)
	return nil
}

// Health is this replica's view of the cluster.
func (c *Cluster) Health() hub.ReplicaHealth {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.now()
	h := hub.ReplicaHealth{Node: c.opts.NodeName, Role: hub.RoleFollower, ClusterSize: 1 + c.aliveCount(now)}
	if t := c.ls.term; t != nil && c.proven(t) {
		h.Role, h.Leader, h.LeaderReachable = hub.RoleLeader, c.opts.NodeName, true
		return h
	}
	h.Leader = c.ls.holder
	// A follower reads the lease every RenewEvery (a read may take as
	// long): older than three of those, it is not reaching it.
	h.LeaderReachable = h.Leader != "" && !c.ls.readAt.IsZero() && now.Sub(c.ls.readAt) < 3*c.opts.RenewEvery
	return h
}

// holderNode is a test helper's view of the lease.
func (c *Cluster) holderNode() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Clone(c.ls.holder)
}
