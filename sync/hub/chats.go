package hub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/vendorapi"
)

// The chat watcher polls Chaport for chats a bot hands over to a human and
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
// Announcements are at least once across crashes (the state file is written
// after each poll) and at most once across orderly restarts.

// staleHandover: hand-overs (and replies) older than this are recorded but
// not pushed. A hub without its state file (first start, lost file) would
// otherwise announce every old hand-over still in the visitors list.
const staleHandover = time.Hour

// defaultRateLimitWait is the pause after a 429 that names no wait.
const defaultRateLimitWait = time.Minute

// chatPollStats is one poll's outcome, for logs and tests.
type chatPollStats struct {
	NotReady   bool // the directory had no staff yet; nothing was read
	Visitors   int  // visitors listed
	ChatReads  int  // chat and event-list reads
	Announced  int  // hand-overs recognised
	Pushed     int  // chat messages queued to agents
	Suppressed int  // messages over max_pushes_per_poll, not sent
	Stale      int  // messages about events older than staleHandover, not sent
	Remembered int  // chat records kept after the poll
	Err        error
}

// chatWatcher is owned by the one goroutine that runs chatLoop.
type chatWatcher struct {
	h     *Hub
	cfg   ChatsConfig
	kinds classifier
	state *chatState
	// prev is the last complete poll's visitor ids, newest chat first;
	// marks says what each one's latest chat was.
	prev    []string
	marks   map[string]visitorMark
	unknown map[string]bool // unknown event types already logged
	reads   failureStreak
	saves   failureStreak
}

type visitorMark struct {
	chatID int64
	closed bool
}

func newChatWatcher(h *Hub) *chatWatcher {
	cfg := h.cfg.File.Chats
	return &chatWatcher{h: h, cfg: cfg, kinds: newClassifier(cfg), state: newChatState(cfg.StateFile),
		marks: map[string]visitorMark{}, unknown: map[string]bool{}}
}

// chatLoop polls until ctx ends. The first poll waits one interval, by which
// time the directory normally knows staff and operators to route to.
func (h *Hub) chatLoop(ctx context.Context) {
	w := newChatWatcher(h)
	if err := w.state.load(); err != nil {
		h.log.Warn("chat state unreadable; starting without it", "err", err)
	}
	interval := time.Duration(w.cfg.PollInterval)
	t := h.clock.NewTimer(interval)
	for {
		select {
		case <-ctx.Done():
			t.Stop()
			w.save() // retries a save that failed after the last poll
			return
		case <-t.C():
		}
		st, wait := w.pollOnce(ctx)
		if ctx.Err() != nil {
			w.save() // keep what a cut-short poll announced
			return
		}
		// The timer is armed before the hook runs, so that a test moving a
		// fake clock on the hook's word always finds it.
		t = h.clock.NewTimer(max(interval, wait))
		if h.chatHook != nil {
			h.chatHook(st)
		}
	}
}

// pollOnce polls, logs and saves; it returns how long to wait at least.
func (w *chatWatcher) pollOnce(ctx context.Context) (chatPollStats, time.Duration) {
	if ready, _, _ := w.h.dir.isReady(); !ready {
		return chatPollStats{NotReady: true}, 0
	}
	st := w.poll(ctx)
	if ctx.Err() != nil {
		return st, 0
	}
	if n := w.state.evict(); n > 0 {
		w.h.log.Debug("forgot the least recently seen chats", "count", n)
	}
	st.Remembered = len(w.state.chats)
	switch {
	case st.Suppressed > 0:
		w.h.log.Warn("too many chat messages for one poll; the rest were not pushed",
			"handovers", st.Announced, "pushed", st.Pushed, "not_pushed", st.Suppressed,
			"max_per_agent", w.cfg.MaxPushesPerPoll)
	case st.Announced > 0:
		w.h.log.Info("Chaport chats handed over", "handovers", st.Announced, "pushed", st.Pushed,
			"stale", st.Stale)
	}
	w.save()
	return st, w.report(st.Err)
}

// report logs a failure once per streak and says how long a 429 asked to wait.
func (w *chatWatcher) report(err error) time.Duration {
	var wait time.Duration
	if errors.Is(err, vendorapi.ErrRateLimited) {
		var ok bool
		if wait, ok = vendorapi.RetryAfter(err); !ok {
			wait = defaultRateLimitWait
		}
	}
	w.reads.note(w.h.log, err, "reading Chaport chats failed; trying again at the next poll",
		"reading Chaport chats works again", "retry_after", wait)
	return wait
}

func (w *chatWatcher) save() {
	w.saves.note(w.h.log, w.state.save(), "saving chat state failed; a restart may announce chats again",
		"saving chat state works again")
}

// poll reads the watched visitors' chats and pushes what they call for.
func (w *chatWatcher) poll(ctx context.Context) (st chatPollStats) {
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
	budget := map[*session]int{}
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
		w.process(v, chat, budget, &st)
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
func (w *chatWatcher) listVisitors(ctx context.Context) ([]chaport.Visitor, error) {
	var out []chaport.Visitor
	seen := map[string]bool{}
	for page := 1; len(out) < w.cfg.VisitorsPerPoll; page++ {
		p, err := w.h.cfg.Chaport.ListVisitors(ctx, page)
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
func (w *chatWatcher) readChat(ctx context.Context, visitorID string) (chaport.Chat, int, error) {
	chat, err := w.h.cfg.Chaport.LatestChat(ctx, visitorID)
	if err != nil {
		return chat, 1, fmt.Errorf("reading visitor %s's chat: %w", visitorID, err)
	}
	if len(chat.Events) > 0 {
		return chat, 1, nil
	}
	evs, err := w.h.cfg.Chaport.ChatEvents(ctx, visitorID, chat.ID)
	if err != nil {
		return chat, 2, fmt.Errorf("reading chat %d's events: %w", chat.ID, err)
	}
	chat.Events = evs
	return chat, 2, nil
}
