package handover

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/omnitray/omnitray/internal/failstreak"
	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/vendorapi"
)

// The watcher polls Chaport for chats a bot hands over to a human and
// tells the agents concerned (feed.TypeChat). Chaport offers desktops no push
// channel (docs/vendor-contract.md), so it polls: the visitors list,
// newest chat first, then each watched visitor's latest chat with its events.
//
// No repeated reads of unchanged chats: the visitors list carries no change
// marker, only its order. So open chats are re-read every poll, while a
// closed chat is re-read only when its visitor moved up: some visitor that
// was above it at the last poll no longer is. The visitor that was at the
// top is always re-read, since new activity leaves it where it was. A closed
// chat whose visitor came back and was then overtaken, within one interval,
// by every visitor that had been above it is caught at its next move.
//
// Announcements are at most once, across restarts and across a failover to
// another hub replica, as long as the state saves: a poll's messages wait in
// an outbox until the state that records them is saved (Env.State), and a
// watcher starts from the saved state. A crash between the save and the
// pushes loses that poll's messages instead of repeating them; the chat is
// still in Chaport with the operator it went to, while a repeat would
// interrupt agents again about a chat they may have dealt with. When the save
// fails they are pushed anyway, since a store that stays down would
// otherwise silence the watcher: then a restart or the next leader may
// announce them again.

// staleHandover: hand-overs (and replies) older than this are recorded but
// not pushed. A hub without its state file (first start, lost file) would
// otherwise announce every old hand-over still in the visitors list.
const staleHandover = time.Hour

// defaultRateLimitWait is the pause after a 429 that names no wait.
const defaultRateLimitWait = time.Minute

// PollStats is one poll's outcome, for logs and tests.
type PollStats struct {
	NotReady   bool // the audience was not ready yet; nothing was read
	Visitors   int  // visitors listed
	ChatReads  int  // chat and event-list reads
	Announced  int  // hand-overs recognised
	Pushed     int  // chat messages queued to agents, after the poll's save
	Suppressed int  // messages over max_pushes_per_poll, not sent
	Stale      int  // messages about events older than staleHandover, not sent
	Remembered int  // chat records kept after the poll
	Err        error
}

// Audience is who hears of hand-overs: the hub's connected agents.
type Audience interface {
	// Ready says whether the company is known yet (staff, statuses and
	// links), so that a hand-over can be routed at all.
	Ready() bool
	// OfOperator lists the agents of the staff linked to the Chaport operator.
	OfOperator(operatorID string) []Recipient
	// WithChatAccess lists the agents whose employee's current Omnidesk
	// status gives access to chats.
	WithChatAccess() []Recipient
}

// Recipient is one agent's feed. Send queues without blocking; it is a
// comparable value (a pointer), since the per-poll cap counts by recipient.
type Recipient interface {
	Send(feed.Envelope)
}

// Env is what the watcher uses from the hub that runs it.
type Env struct {
	Chaport  *chaport.Client
	Audience Audience
	Clock    clock.Clock
	Log      *slog.Logger
	// MaxFrameBytes is the agents' frame limit (0: feed.DefaultMaxFrameBytes).
	MaxFrameBytes int64
	// State keeps the memory of chats across restarts and failovers: the
	// cluster's shared state on a hub replica. Nil means a FileStore of
	// Config.StateFile, or memory only when that is "" too.
	State StateStore
	// Hook, when set (tests only), sees each poll's outcome.
	Hook func(PollStats)
}

// Watcher is the chat watcher. It is owned by the one goroutine that runs Run.
type Watcher struct {
	env   Env
	cfg   Config
	kinds classifier
	state *chatState
	// prev is the last complete poll's visitor ids, newest chat first;
	// marks says what each one's latest chat was.
	prev    []string
	marks   map[string]visitorMark
	unknown map[string]bool // unknown event types already logged
	reads   failstreak.Streak
	saves   failstreak.Streak
}

type visitorMark struct {
	chatID int64
	closed bool
}

// New builds a watcher from a defaulted, checked config section. Env.State,
// when set, wins over Config.StateFile.
func New(cfg Config, env Env) *Watcher {
	store := env.State
	if store == nil && cfg.StateFile != "" {
		store = FileStore(cfg.StateFile)
	}
	return &Watcher{env: env, cfg: cfg, kinds: newClassifier(cfg), state: newChatState(store),
		marks: map[string]visitorMark{}, unknown: map[string]bool{}}
}

// Run polls until ctx ends, and saves the state before it returns. The
// first poll waits one interval, by which time the audience is normally
// ready to route to.
func (w *Watcher) Run(ctx context.Context) {
	if err := w.state.load(); err != nil {
		w.env.Log.Warn("chat state unreadable; starting without it", "err", err)
	}
	interval := time.Duration(w.cfg.PollInterval)
	t := w.env.Clock.NewTimer(interval)
	for {
		select {
		case <-ctx.Done():
			t.Stop()
			_ = w.save() // retries a save that failed after the last poll
			return
		case <-t.C():
		}
		st, wait := w.pollOnce(ctx)
		if ctx.Err() != nil {
			_ = w.save() // retries a save that failed in the cut-short poll
			return
		}
		// The timer is armed before the hook runs, so that a test moving a
		// fake clock on the hook's word always finds it.
		t = w.env.Clock.NewTimer(max(interval, wait))
		if w.env.Hook != nil {
			w.env.Hook(st)
		}
	}
}

// pollOnce polls, saves, pushes and logs; it returns how long to wait at
// least. A poll cut short by ctx saves and pushes what it got through.
func (w *Watcher) pollOnce(ctx context.Context) (PollStats, time.Duration) {
	if !w.env.Audience.Ready() {
		return PollStats{NotReady: true}, 0
	}
	out := &outbox{budget: map[Recipient]int{}}
	st := w.poll(ctx, out)
	if n := w.state.evict(); n > 0 {
		w.env.Log.Debug("forgot the least recently seen chats", "count", n)
	}
	st.Remembered = len(w.state.chats)
	// Save first, so that a watcher killed before it pushes (a crash, or
	// another replica taking over) is followed by one that knows these chats
	// were announced. A failed save pushes anyway (see the package comment),
	// unless the store says the state is another watcher's now: that one
	// has read the chats as well and announces them itself.
	if err := w.save(); errors.Is(err, ErrNotOwner) {
		st.Pushed, out.msgs = 0, nil
	}
	out.deliver()
	if ctx.Err() != nil {
		return st, 0 // st.Err is the cancellation, not a failure to report
	}
	switch {
	case st.Suppressed > 0:
		w.env.Log.Warn("too many chat messages for one poll; the rest were not pushed",
			"handovers", st.Announced, "pushed", st.Pushed, "not_pushed", st.Suppressed,
			"max_per_agent", w.cfg.MaxPushesPerPoll)
	case st.Announced > 0:
		w.env.Log.Info("Chaport chats handed over", "handovers", st.Announced, "pushed", st.Pushed,
			"stale", st.Stale)
	}
	return st, w.report(st.Err)
}

// report logs a failure once per streak and says how long a 429 asked to wait.
func (w *Watcher) report(err error) time.Duration {
	var wait time.Duration
	if errors.Is(err, vendorapi.ErrRateLimited) {
		var ok bool
		if wait, ok = vendorapi.RetryAfter(err); !ok {
			wait = defaultRateLimitWait
		}
	}
	w.reads.Note(w.env.Log, err, "reading Chaport chats failed; trying again at the next poll",
		"reading Chaport chats works again", "retry_after", wait)
	return wait
}

// ErrNotOwner, wrapped by a StateStore's Save, says that another watcher
// (on the replica that leads now) owns the state: this one must neither
// overwrite it nor announce what it queued.
var ErrNotOwner = errors.New("the chat state belongs to another watcher")

func (w *Watcher) save() error {
	err := w.state.save()
	if errors.Is(err, ErrNotOwner) {
		w.env.Log.Info("another replica leads now; this one's last chat poll is left to it")
		return err
	}
	w.saves.Note(w.env.Log, err, "saving chat state failed; pushing anyway, so a restart may announce chats again",
		"saving chat state works again")
	return err
}

// poll reads the watched visitors' chats and queues in out what they call for.
func (w *Watcher) poll(ctx context.Context, out *outbox) (st PollStats) {
	vs, err := w.listVisitors(ctx)
	st.Visitors = len(vs)
	if err != nil {
		st.Err = err
		return st
	}
	now := make(map[string]int, len(vs))
	for i, v := range vs {
		now[v.ID] = i
	}
	// highest[p] is the lowest place, in this poll's list, of the visitors
	// that were above place p at the last poll (MaxInt: one is gone).
	highest := make([]int, len(w.prev)+1)
	highest[0] = -1
	was := make(map[string]int, len(w.prev))
	for i, id := range w.prev {
		pos, ok := now[id]
		if !ok {
			pos = math.MaxInt
		}
		highest[i+1], was[id] = max(highest[i], pos), i
	}
	for pos, v := range vs {
		mark, known := w.marks[v.ID]
		if p, listed := was[v.ID]; known && mark.closed && listed && p > 0 && highest[p] < pos {
			if rec := w.state.chats[mark.chatID]; rec != nil {
				w.state.touch(rec) // still watched: not to be evicted
			}
			continue
		}
		chat, reads, err := w.readChat(ctx, v.ID)
		st.ChatReads += reads
		if err != nil {
			delete(w.marks, v.ID) // read it again next time
			st.Err = cmp.Or(st.Err, err)
			if ctx.Err() != nil || errors.Is(err, vendorapi.ErrRateLimited) {
				return st // keep prev: the rest of the list was not looked at
			}
			continue
		}
		w.marks[v.ID] = visitorMark{chatID: chat.ID, closed: chat.Stage == "closed"}
		w.process(v, chat, out, &st)
	}
	w.prev = w.prev[:0]
	for _, v := range vs {
		w.prev = append(w.prev, v.ID)
	}
	for id := range w.marks {
		if _, ok := now[id]; !ok {
			delete(w.marks, id)
		}
	}
	return st
}

// listVisitors reads visitors_per_poll visitors, newest chat first, page
// after page; a visitor repeated across pages (the list moved) counts once.
func (w *Watcher) listVisitors(ctx context.Context) ([]chaport.Visitor, error) {
	var out []chaport.Visitor
	seen := map[string]bool{}
	for page := 1; len(out) < w.cfg.VisitorsPerPoll; page++ {
		p, err := w.env.Chaport.ListVisitors(ctx, page)
		if err != nil {
			return out, fmt.Errorf("listing visitors page %d: %w", page, err)
		}
		added := 0
		for _, v := range p.Visitors {
			if v.ID != "" && !seen[v.ID] && len(out) < w.cfg.VisitorsPerPoll {
				seen[v.ID] = true
				out = append(out, v)
				added++
			}
		}
		// A page with nothing new would have the loop follow links.next
		// forever if the server kept offering it.
		if p.Next == "" || added == 0 {
			break
		}
	}
	return out, nil
}

// readChat reads the visitor's latest chat, which normally carries its
// events; the events are fetched separately only when it has none.
func (w *Watcher) readChat(ctx context.Context, visitorID string) (chaport.Chat, int, error) {
	chat, err := w.env.Chaport.LatestChat(ctx, visitorID)
	if err != nil {
		return chat, 1, fmt.Errorf("reading visitor %s's chat: %w", visitorID, err)
	}
	if len(chat.Events) > 0 {
		return chat, 1, nil
	}
	evs, err := w.env.Chaport.ChatEvents(ctx, visitorID, chat.ID)
	if err != nil {
		return chat, 2, fmt.Errorf("reading chat %d's events: %w", chat.ID, err)
	}
	chat.Events = evs
	return chat, 2, nil
}
