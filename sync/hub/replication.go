package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/omnidesk"
)

// How replicas share the work (Config.Replicas). Only the leader reads the
// vendors' company-wide data: Omnidesk's staff list and status catalogue,
// Chaport's operator list and chats. Every replica applies what the leader
// read through the same functions the leader applies it with (applyStaffPage
// and the rest), so a follower's directory follows the leader's page by
// page and a follower that is elected carries on from there. What each
// replica does for its own sessions (Chaport writes, presence) it tells the
// others.
//
// Pages and status confirmations go as messages: they come every few
// seconds, and a replica that missed one has the next poll. What a replica
// that starts late needs at once, and what must survive the leader, is
// shared state: the catalogue, the operator list, the Omnidesk budget, the
// pins, the chat watcher's memory.

// Subjects the replicas publish on.
const (
	subjectStaffPage = "staff"    // leader → all: one page of a staff poll
	subjectObserved  = "observed" // leader → all: a status a switch confirmed
	subjectLease     = "lease"    // any → all: an online lease written
	subjectSwitch    = "switch"   // any → leader: a status switch to make
)

// Shared state keys.
const (
	keyBudget    = "budget"
	keyCatalogue = "catalogue"
	keyOperators = "operators"
	keyPins      = "pins"
)

// sharedStateTimeout bounds a shared-state write on the pollers' path: the
// engine answers in milliseconds, or has lost its quorum.
const sharedStateTimeout = 2 * time.Second

type staffPageMsg struct {
	Staff    []omnidesk.Staff `json:"staff"`
	At       time.Time        `json:"at"`
	Complete bool             `json:"complete"`
}

type operatorsMsg struct {
	Operators []chaport.Operator `json:"operators"`
	At        time.Time          `json:"at"`
}

type observedMsg struct {
	Staff      int64     `json:"staff"`
	Status     int64     `json:"status"`
	At         time.Time `json:"at"`
	SwitchedOn string    `json:"switched_on,omitempty"`
}

type leaseMsg struct {
	Operator string    `json:"operator"`
	Until    time.Time `json:"until,omitzero"`
}

type switchRequest struct {
	Staff  int64  `json:"staff"`
	Status int64  `json:"status"`
	Host   string `json:"host,omitempty"`
}

// switchAnswer carries confirmSwitch's result back to the replica whose
// agent asked: the change, or the refusal the agent is to read.
type switchAnswer struct {
	Change     *feed.StatusChange `json:"change,omitempty"`
	Code       string             `json:"code,omitempty"`
	Message    string             `json:"message,omitempty"`
	RetryAfter time.Duration      `json:"retry_after,omitempty"`
}

// replication is the hub's side of Config.Replicas: nil methods are no-ops
// for a hub that runs alone.
type replication struct {
	r   Replicas
	hub *Hub
	// leading is set while this replica runs the leader's work, so that its
	// own switches need not go round the engine.
	mu      sync.Mutex
	leading bool
	fails   map[string]bool // what failed, logged once until it works again
}

// publish sends v to the other replicas; a failure is logged once per
// subject until publishing works again (the next poll mends what is lost).
func (rp *replication) publish(subject string, v any) {
	if rp == nil {
		return
	}
	data, err := json.Marshal(v)
	if err == nil {
		err = rp.r.Publish(subject, data)
	}
	rp.note("publish "+subject, err, "telling the other replicas failed; they catch up with the next poll")
}

// put writes shared state, logged like publish.
func (rp *replication) put(ctx context.Context, key string, v any) {
	if rp == nil {
		return
	}
	data, err := json.Marshal(v)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, sharedStateTimeout)
		err = rp.r.Put(ctx, key, data)
		cancel()
	}
	rp.note("put "+key, err, "writing the cluster's shared state failed")
}

func (rp *replication) note(what string, err error, msg string) {
	rp.mu.Lock()
	was := rp.fails[what]
	if err != nil {
		rp.fails[what] = true
	} else {
		delete(rp.fails, what)
	}
	rp.mu.Unlock()
	switch {
	case err != nil && !was:
		rp.hub.log.Warn(msg, "what", what, "err", err)
	case err == nil && was:
		rp.hub.log.Info("cluster works again", "what", what)
	}
}

func (rp *replication) setLeading(on bool) {
	rp.mu.Lock()
	rp.leading = on
	rp.mu.Unlock()
}

func (rp *replication) isLeading() bool {
	if rp == nil {
		return true
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.leading
}

// fence is omnideskCall's last check before a call: only the proven leader
// spends the company's Omnidesk budget.
func (rp *replication) fence() error {
	if rp == nil {
		return nil
	}
	if err := rp.r.Fence(); err != nil {
		return fmt.Errorf("calling Omnidesk: %w", err)
	}
	return nil
}

// follow subscribes to the leader's news and watches the shared state; it
// returns once everything is in place, and the handlers run until ctx ends.
func (h *Hub) follow(ctx context.Context) error {
	rp := h.rep
	subs := map[string]func([]byte) error{
		subjectStaffPage: decoded(func(m staffPageMsg) { h.applyStaffPage(m.Staff, m.At, m.Complete) }),
		subjectObserved:  decoded(func(m observedMsg) { h.applyObserved(m.Staff, m.Status, m.At, m.SwitchedOn) }),
		subjectHistory:   decoded(h.applyHistory),
		subjectLease:     decoded(func(m leaseMsg) { h.dir.setOnlineUntil(m.Operator, m.Until) }),
	}
	for subject, apply := range subs {
		err := rp.r.Subscribe(ctx, subject, func(data []byte) {
			if err := apply(data); err != nil {
				h.log.Warn("ignoring a malformed message from another replica", "subject", subject, "err", err)
			}
		})
		if err != nil {
			return fmt.Errorf("subscribing to the other replicas' %s: %w", subject, err)
		}
	}
	watches := map[string]func([]byte) error{
		keyCatalogue: decoded(func(sts []omnidesk.StaffStatus) { h.applyCatalogue(sts) }),
		keyOperators: decoded(func(m operatorsMsg) { h.applyOperators(m.Operators, m.At) }),
	}
	for key, apply := range watches {
		h.watchShared(ctx, key, func(k string, data []byte) {
			if k != key || rp.isLeading() {
				return // the leader applied its own read already
			}
			if err := apply(data); err != nil {
				h.log.Warn("ignoring malformed shared state", "key", k, "err", err)
			}
		})
	}
	return nil
}

// decoded is apply behind the JSON decoding of its argument.
func decoded[T any](apply func(T)) func([]byte) error {
	return func(data []byte) error {
		var m T
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
		apply(m)
		return nil
	}
}

// watchShared watches the shared state under prefix until ctx ends. While
// the cluster forms (every replica started at once) the shared state may
// not answer yet, so a watch that cannot start is tried again, backing off
// to 5 s, and its failure logged once, rather than stopping the hub.
func (h *Hub) watchShared(ctx context.Context, prefix string, handle func(key string, data []byte)) {
	go func() {
		delay := 250 * time.Millisecond
		for {
			err := h.rep.r.Watch(ctx, prefix, handle)
			if ctx.Err() != nil {
				return
			}
			h.rep.note("watch "+prefix, err, "watching the cluster's shared state failed; trying again")
			if err == nil {
				return
			}
			t := h.clock.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			delay = min(delay*2, 5*time.Second)
		}
	}()
}

// takeOver starts a leadership term: the budget the last leader left, and
// the status switches every replica forwards. It returns once the switch
// service is in place.
func (h *Hub) takeOver(ctx context.Context) error {
	rp := h.rep
	data, err := h.sharedBudget(ctx)
	var st budgetState
	switch {
	case errors.Is(err, ErrNoState):
		h.log.Info("leading the cluster; no budget shared yet, the pacer starts from what it knows")
	case err == nil && json.Unmarshal(data, &st) == nil:
		if err := h.pace.restore(st); err != nil {
			h.log.Warn("ignoring the cluster's shared Omnidesk budget", "err", err)
		} else {
			h.log.Info("leading the cluster; Omnidesk budget taken over", "rate_limit_per_minute", st.Limit,
				"calls_last_minute", len(st.Spent), "spacing", h.pace.interval())
		}
	default:
		// Without the last leader's spending this one could overspend its
		// share in the minute after a failover: it waits one out instead.
		h.log.Warn("leading the cluster without the shared Omnidesk budget; waiting a minute before the first call", "err", err)
		h.pace.backoff(time.Minute)
	}
	return rp.r.Serve(ctx, subjectSwitch, h.serveSwitch)
}

// takeOverPatience is how long a new leader tries to read the budget the
// last one left before it waits a minute out instead: the shared state may
// be electing a leader of its own (NATS takes 4–9 s), and a minute without
// polls costs every employee more than a few seconds of trying.
const takeOverPatience = 10 * time.Second

// sharedBudget reads the last leader's budget, trying again for up to
// takeOverPatience while the shared state does not answer.
func (h *Hub) sharedBudget(ctx context.Context) ([]byte, error) {
	deadline := h.clock.Now().Add(takeOverPatience)
	return h.getShared(ctx, keyBudget, 500*time.Millisecond, func(error) bool { return h.clock.Now().Before(deadline) })
}

// getShared reads key, and while the shared state does not answer (an
// error other than ErrNoState) tries again every pause for as long as
// again, told the error, says to and ctx lasts.
func (h *Hub) getShared(ctx context.Context, key string, pause time.Duration, again func(error) bool) ([]byte, error) {
	for {
		get, cancel := context.WithTimeout(ctx, sharedStateTimeout)
		data, err := h.rep.r.Get(get, key)
		cancel()
		if err == nil || errors.Is(err, ErrNoState) || ctx.Err() != nil || !again(err) {
			return data, err
		}
		t := h.clock.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C():
		}
	}
}

// shareBudget writes the pacer's state where the next leader finds it. It
// runs after each booking, before the call: a leader killed during the
// call has still counted it.
func (h *Hub) shareBudget(ctx context.Context) {
	if h.rep == nil {
		return
	}
	if st, ok := h.pace.export(); ok {
		h.rep.put(ctx, keyBudget, st)
	}
}

// serveSwitch is the leader's end of a forwarded status switch.
func (h *Hub) serveSwitch(ctx context.Context, data []byte) []byte {
	var req switchRequest
	var ans switchAnswer
	if err := json.Unmarshal(data, &req); err != nil || req.Staff <= 0 || req.Status <= 0 {
		ans.Code, ans.Message = feed.CodeBadRequest, "bad switch request from a replica"
	} else if change, err := h.confirmSwitch(ctx, req.Staff, req.Status, req.Host); err != nil {
		ans.Code, ans.Message = feed.CodeUnavailable, err.Error()
		var re *feed.RemoteError
		if errors.As(err, &re) {
			ans.Code, ans.Message, ans.RetryAfter = re.Code, re.Message, re.RetryAfter
		}
	} else {
		ans.Change = &change
	}
	out, _ := json.Marshal(ans)
	return out
}

// forwardSwitch asks the leader to make a switch for one of this replica's
// agents.
func (h *Hub) forwardSwitch(ctx context.Context, staffID, statusID int64, host string) (feed.StatusChange, error) {
	data, _ := json.Marshal(switchRequest{Staff: staffID, Status: statusID, Host: host})
	out, err := h.rep.r.Request(ctx, subjectSwitch, data)
	if err != nil {
		h.log.Warn("forwarding a status switch to the leader failed", "staff", staffID, "err", err)
		return feed.StatusChange{}, refuse(feed.CodeUnavailable, "no hub replica leads the cluster right now; try again in a few seconds")
	}
	var ans switchAnswer
	if err := json.Unmarshal(out, &ans); err != nil {
		return feed.StatusChange{}, refuse(feed.CodeUnavailable, "the leading replica's answer was unreadable")
	}
	if ans.Change == nil {
		return feed.StatusChange{}, &feed.RemoteError{Code: ans.Code, Message: ans.Message, RetryAfter: ans.RetryAfter}
	}
	return *ans.Change, nil
}
