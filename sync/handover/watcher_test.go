package handover

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnitray/omnitray/internal/syncbuf"
	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// fakeRecipient is an agent's feed that keeps what it was sent.
type fakeRecipient struct {
	mu  sync.Mutex
	got []feed.Envelope
}

func (r *fakeRecipient) Send(env feed.Envelope) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, env)
}

func (r *fakeRecipient) sent() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *fakeRecipient) events(t *testing.T) []feed.ChatEvent {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []feed.ChatEvent
	for _, env := range r.got {
		ev, err := feed.DecodeData[feed.ChatEvent](env)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// fakeAudience routes every chat to its one agent; routed, when set, is
// called on each lookup, in the middle of a poll.
type fakeAudience struct {
	to     *fakeRecipient
	routed func()
}

func (a fakeAudience) Ready() bool { return true }

func (a fakeAudience) OfOperator(string) []Recipient { return a.route() }

func (a fakeAudience) WithChatAccess() []Recipient { return a.route() }

func (a fakeAudience) route() []Recipient {
	if a.routed != nil {
		a.routed()
	}
	return []Recipient{a.to}
}

// orderStore is a StateStore in memory that notes, at each save, how many
// messages its recipient had been sent by then.
type orderStore struct {
	mu    sync.Mutex
	sent  func() int
	data  []byte
	saves []savedAt
	fail  error
}

type savedAt struct {
	sent  int // messages the recipient had when Save was called
	state chatStateFile
}

func (s *orderStore) Load() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data, nil
}

func (s *orderStore) Save(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var f chatStateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	s.saves = append(s.saves, savedAt{sent: s.sent(), state: f})
	if s.fail != nil {
		return s.fail
	}
	s.data = data
	return nil
}

// firstSaveAnnouncing is the first save whose state has the chat announced.
func (s *orderStore) firstSaveAnnouncing(chatID int64) (savedAt, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.saves {
		if rec := sv.state.Chats[chatID]; rec != nil && rec.Announced {
			return sv, true
		}
	}
	return savedAt{}, false
}

// rig is a watcher running on a fake clock against a sandbox's Chaport.
type rig struct {
	fc     *clock.Fake
	polls  chan PollStats
	done   chan struct{}
	cancel context.CancelFunc
	logs   *syncbuf.Buffer
}

func newSandbox(t *testing.T, fc *clock.Fake) *sandbox.Sandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb := sandbox.New(sandbox.Config{Clock: fc})
	if err := sb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return sb
}

// startWatcher runs a watcher with the default config until the test ends
// or r.cancel is called; env gets the Chaport client, clock, log and hook.
func startWatcher(t *testing.T, sb *sandbox.Sandbox, fc *clock.Fake, env Env) *rig {
	t.Helper()
	cp, err := chaport.New(chaport.Config{BaseURL: sb.ChaportURL, Token: sandbox.DefaultChaportToken})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{fc: fc, polls: make(chan PollStats, 16), done: make(chan struct{}), logs: &syncbuf.Buffer{}}
	env.Chaport, env.Clock = cp, fc
	env.Log = slog.New(slog.NewTextHandler(r.logs, nil))
	env.Hook = func(st PollStats) { r.polls <- st }
	w := New(Config{}.WithDefaults(), env)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// fire fires the watcher's poll timer once it is armed.
func (r *rig) fire(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for r.fc.Pending() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the watcher never armed its poll timer")
		}
		time.Sleep(time.Millisecond)
	}
	r.fc.AdvanceToNext()
}

// nextPoll runs the watcher's next poll and returns its report.
func (r *rig) nextPoll(t *testing.T) PollStats {
	t.Helper()
	r.fire(t)
	select {
	case st := <-r.polls:
		return st
	case <-time.After(30 * time.Second):
		t.Fatal("no poll report")
	}
	return PollStats{}
}

// stopped waits for Run to return.
func (r *rig) stopped(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
}

func startHandover(t *testing.T, sb *sandbox.Sandbox, visitor string) sandbox.ScriptedChat {
	t.Helper()
	c, err := sb.StartChat(visitor, "", []sandbox.ScriptEvent{{Kind: "visitor", Text: "Hi"},
		{Kind: "bot", Text: "Hello"}, {Kind: "handover", OperatorID: sandbox.SeedOperatorAnna}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantPoll(t *testing.T, st PollStats, announced, pushed int) {
	t.Helper()
	if st.Err != nil || st.Announced != announced || st.Pushed != pushed {
		t.Fatalf("poll %+v; want %d hand-overs, %d pushed", st, announced, pushed)
	}
}

// A watcher killed between pushing a hand-over and saving it would leave the
// next one (after a restart or a failover) to announce it again.
func TestHandoverIsPushedOnlyAfterTheStateIsSaved(t *testing.T) {
	fc := clock.NewFake(time.Now())
	sb := newSandbox(t, fc)
	agent := &fakeRecipient{}
	store := &orderStore{sent: agent.sent}
	r := startWatcher(t, sb, fc, Env{Audience: fakeAudience{to: agent}, State: store})

	x := startHandover(t, sb, "Xena")
	wantPoll(t, r.nextPoll(t), 1, 1)
	sv, ok := store.firstSaveAnnouncing(x.ChatID)
	if !ok {
		t.Fatalf("no save recorded chat %d as announced: %+v", x.ChatID, store.saves)
	}
	if sv.sent != 0 {
		t.Fatalf("the state announcing chat %d was saved after %d messages were pushed, want before any", x.ChatID, sv.sent)
	}
	if evs := agent.events(t); len(evs) != 1 || evs[0].Kind != feed.ChatHandover || evs[0].ChatID != x.ChatID {
		t.Fatalf("pushed %+v, want chat %d's hand-over", evs, x.ChatID)
	}
}

// The next leader's watcher starts from the state the last one saved.
func TestNextWatcherStartsFromTheSavedState(t *testing.T) {
	fc := clock.NewFake(time.Now())
	sb := newSandbox(t, fc)
	first := &fakeRecipient{}
	store := &orderStore{sent: first.sent}
	r1 := startWatcher(t, sb, fc, Env{Audience: fakeAudience{to: first}, State: store})
	startHandover(t, sb, "Xena")
	wantPoll(t, r1.nextPoll(t), 1, 1)
	r1.cancel()
	r1.stopped(t)

	second := &fakeRecipient{}
	r2 := startWatcher(t, sb, fc, Env{Audience: fakeAudience{to: second}, State: store})
	wantPoll(t, r2.nextPoll(t), 0, 0)
	y := startHandover(t, sb, "Yuri")
	wantPoll(t, r2.nextPoll(t), 1, 1)
	if evs := second.events(t); len(evs) != 1 || evs[0].ChatID != y.ChatID {
		t.Fatalf("the second watcher pushed %+v, want only chat %d's hand-over", evs, y.ChatID)
	}
	if got := r2.logs.String(); strings.Contains(got, "chat state unreadable") {
		t.Fatalf("state not read: %s", got)
	}
}

// A store that is down must not silence the watcher: it pushes anyway, and
// logs the failure once.
func TestHandoverIsPushedWhenTheSaveFails(t *testing.T) {
	fc := clock.NewFake(time.Now())
	sb := newSandbox(t, fc)
	agent := &fakeRecipient{}
	store := &orderStore{sent: agent.sent, fail: errors.New("shared state unavailable")}
	r := startWatcher(t, sb, fc, Env{Audience: fakeAudience{to: agent}, State: store})

	x := startHandover(t, sb, "Xena")
	wantPoll(t, r.nextPoll(t), 1, 1)
	wantPoll(t, r.nextPoll(t), 0, 0) // tries the save again
	if evs := agent.events(t); len(evs) != 1 || evs[0].ChatID != x.ChatID {
		t.Fatalf("pushed %+v, want chat %d's hand-over once", evs, x.ChatID)
	}
	if n := len(store.saves); n != 2 {
		t.Fatalf("%d saves tried, want one per poll", n)
	}
	if n := strings.Count(r.logs.String(), "saving chat state failed"); n != 1 {
		t.Fatalf("save failure logged %d times, want once:\n%s", n, r.logs.String())
	}
}

// A poll cut short (shutdown, lost leadership) saves what it got through,
// then pushes it, before Run returns.
func TestCutShortPollSavesThenPushes(t *testing.T) {
	fc := clock.NewFake(time.Now())
	sb := newSandbox(t, fc)
	agent := &fakeRecipient{}
	store := &orderStore{sent: agent.sent}
	var r *rig
	var once sync.Once
	cut := func() { once.Do(func() { r.cancel() }) } // while routing the first hand-over
	startHandover(t, sb, "Xena")
	startHandover(t, sb, "Yuri")
	r = startWatcher(t, sb, fc, Env{Audience: fakeAudience{to: agent, routed: cut}, State: store})

	r.fire(t)
	r.stopped(t)
	evs := agent.events(t)
	if len(evs) != 1 {
		t.Fatalf("pushed %+v, want the one hand-over processed before the cut", evs)
	}
	sv, ok := store.firstSaveAnnouncing(evs[0].ChatID)
	if !ok || sv.sent != 0 {
		t.Fatalf("chat %d: saved %v, with %d messages pushed before; want saved before any", evs[0].ChatID, ok, sv.sent)
	}
	announced := 0
	for _, rec := range sv.state.Chats {
		if rec.Announced {
			announced++
		}
	}
	if announced != 1 {
		t.Fatalf("saved %d chats as announced, want 1: %+v", announced, sv.state.Chats)
	}
}
