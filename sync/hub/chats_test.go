package hub_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/internal/syncbuf"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// chatStack is a hub on a fake clock, driven from one of its waits to the
// next, with each chat poll reported.
type chatStack struct {
	stack
	fc    *clock.Fake
	polls chan hub.ChatPollStats
	logs  *syncbuf.Buffer
	stop  func()
}

// newChatSandbox starts a sandbox where Anna is Online (chat access) and
// Boris and Chen are Offline.
func newChatSandbox(t *testing.T, fc *clock.Fake, pageSize int) *sandbox.Sandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Clock: fc, Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 1_000_000},
		Chaport: sandbox.ChaportSettings{VisitorsPageSize: pageSize}})
	if err := sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusOnline); err != nil {
		t.Fatal(err)
	}
	return sb
}

func startChatHub(t *testing.T, sb *sandbox.Sandbox, fc *clock.Fake, file string) *chatStack {
	t.Helper()
	logs := &syncbuf.Buffer{}
	h := hubtest.New(t, sb, file, func(c *hub.Config) {
		c.Clock, c.Logger = fc, slog.New(slog.NewTextHandler(logs, nil))
	})
	polls := make(chan hub.ChatPollStats, 64)
	hub.SetChatHook(h, func(st hub.ChatPollStats) {
		select {
		case polls <- st:
		default:
			t.Error("chat poll reports piled up unread")
		}
	})
	r := hubtest.Serve(t, context.Background(), h) // Stop waits until the watcher has saved its state
	s := &chatStack{stack: stack{sb: sb, hub: h, hubURL: r.URL}, fc: fc, polls: polls, logs: logs, stop: r.Stop}
	s.driveUntil(t, "hub ready", func() bool {
		resp, err := http.Get(r.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

// driveUntil moves the fake clock whenever the hub is idle (its operator
// refresh, its Omnidesk pacer and its chat watcher all wait on timers),
// straight to the next timer, until cond holds.
func (s *chatStack) driveUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened (fake clock at %v)", what, s.fc.Now())
		}
		if s.fc.Pending() >= 3 {
			s.fc.AdvanceToNext()
			continue
		}
		time.Sleep(time.Millisecond)
	}
}

// nextPoll runs the clock to the watcher's next poll and returns its report.
func (s *chatStack) nextPoll(t *testing.T) hub.ChatPollStats {
	t.Helper()
	var st hub.ChatPollStats
	s.driveUntil(t, "a chat poll", func() bool {
		select {
		case st = <-s.polls:
			return true
		default:
			return false
		}
	})
	return st
}

// chatEvents waits for n chat messages and then for a moment of quiet, in
// which no further one may arrive.
func (a *agentConn) chatEvents(n int) []feed.ChatEvent {
	a.t.Helper()
	var out []feed.ChatEvent
	guard := time.After(15 * time.Second)
	for {
		var quiet <-chan time.Time
		if len(out) >= n {
			quiet = time.After(150 * time.Millisecond)
		}
		select {
		case ev := <-a.events:
			switch {
			case ev.Kind == feed.Disconnected:
				a.t.Fatalf("agent disconnected: %v", ev.Err)
			case ev.Kind == feed.Message && ev.Env.Type == feed.TypeChat:
				ce, err := feed.DecodeData[feed.ChatEvent](ev.Env)
				if err != nil {
					a.t.Fatal(err)
				}
				out = append(out, ce)
			}
		case <-quiet:
			if len(out) != n {
				a.t.Fatalf("%d chat messages, want %d: %+v", len(out), n, out)
			}
			return out
		case <-guard:
			a.t.Fatalf("%d of %d chat messages arrived", len(out), n)
		}
	}
}

func startChat(t *testing.T, sb *sandbox.Sandbox, visitor string, steps []sandbox.ScriptEvent) sandbox.ScriptedChat {
	t.Helper()
	c, err := sb.StartChat(visitor, "", steps)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func appendChat(t *testing.T, sb *sandbox.Sandbox, visitorID string, steps []sandbox.ScriptEvent) {
	t.Helper()
	if _, err := sb.AppendChat(visitorID, steps); err != nil {
		t.Fatal(err)
	}
}

func wantStats(t *testing.T, st hub.ChatPollStats, announced, pushed int) {
	t.Helper()
	if st.Err != nil || st.Announced != announced || st.Pushed != pushed {
		t.Fatalf("poll %+v; want %d hand-overs, %d pushed", st, announced, pushed)
	}
}

var (
	botQA = []sandbox.ScriptEvent{{Kind: "visitor", Text: "Hi"}, {Kind: "bot", Text: "How can I help?"},
		{Kind: "visitor", Text: "  Talk to a human  "}, {Kind: "bot", Text: "Connecting you to an operator"}}
	botQALines = []feed.ChatLine{{From: "visitor", Text: "Hi"}, {From: "bot", Text: "How can I help?"},
		{From: "visitor", Text: "Talk to a human"}, {From: "bot", Text: "Connecting you to an operator"}}
)

func handoverTo(op string) []sandbox.ScriptEvent {
	return []sandbox.ScriptEvent{{Kind: "visitor", Text: "Hi"}, {Kind: "bot", Text: "Hello"},
		{Kind: "handover", OperatorID: op}}
}

func TestChatHandoverGoesToTheOperatorsAgent(t *testing.T) {
	fc := clock.NewFake(time.Now())
	s := startChatHub(t, newChatSandbox(t, fc, 0), fc, `{}`)
	anna, boris := connect(t, &s.stack, sandbox.SeedStaffAnna), connect(t, &s.stack, sandbox.SeedStaffBoris)
	wantStats(t, s.nextPoll(t), 0, 0)

	chat := startChat(t, s.sb, "Vera", botQA)
	wantStats(t, s.nextPoll(t), 0, 0) // the bot is still talking
	appendChat(t, s.sb, chat.VisitorID, []sandbox.ScriptEvent{{Kind: "handover", OperatorID: sandbox.SeedOperatorAnna}})
	wantStats(t, s.nextPoll(t), 1, 1)
	got := anna.chatEvents(1)[0]
	want := feed.ChatEvent{Kind: feed.ChatHandover, ChatID: chat.ChatID, VisitorID: chat.VisitorID,
		VisitorName: "Vera", BotName: "Helper Bot", OperatorID: sandbox.SeedOperatorAnna, At: got.At,
		Transcript: botQALines}
	if !reflect.DeepEqual(got, want) || got.At.IsZero() {
		t.Fatalf("hand-over\n got %+v\nwant %+v", got, want)
	}
	boris.chatEvents(0)
	wantStats(t, s.nextPoll(t), 0, 0) // nothing new: nothing again

	reply := []sandbox.ScriptEvent{{Kind: "operator", OperatorID: sandbox.SeedOperatorAnna, Text: "Hello, Anna here"}}
	appendChat(t, s.sb, chat.VisitorID, reply)
	wantStats(t, s.nextPoll(t), 0, 1)
	if r := anna.chatEvents(1)[0]; r.Kind != feed.ChatOperatorReply || r.ChatID != chat.ChatID ||
		r.OperatorID != sandbox.SeedOperatorAnna || len(r.Transcript) != 0 {
		t.Fatalf("reply %+v", r)
	}
	appendChat(t, s.sb, chat.VisitorID, reply)
	wantStats(t, s.nextPoll(t), 0, 0) // only the first reply is news
	boris.chatEvents(0)
}

func TestChatHandoverToNobodyGoesToAgentsWithChatAccess(t *testing.T) {
	fc := clock.NewFake(time.Now())
	s := startChatHub(t, newChatSandbox(t, fc, 0), fc, `{}`)
	anna, boris := connect(t, &s.stack, sandbox.SeedStaffAnna), connect(t, &s.stack, sandbox.SeedStaffBoris)
	s.nextPoll(t)
	queue := []sandbox.ScriptEvent{{Kind: "visitor", Text: "Hi"}, {Kind: "bot", Text: "Hello"},
		{Type: "operator-joined", Params: map[string]any{}}} // to the queue: no operator
	startChat(t, s.sb, "Queue", queue)
	startChat(t, s.sb, "Chen's", handoverTo(sandbox.SeedOperatorChen)) // Chen is not connected
	wantStats(t, s.nextPoll(t), 2, 2)
	for _, ev := range anna.chatEvents(2) {
		if ev.Kind != feed.ChatHandover || (ev.VisitorName == "Queue") != (ev.OperatorID == "") {
			t.Fatalf("Anna got %+v", ev)
		}
	}
	boris.chatEvents(0) // Offline: no chat access

	// A chat handed to Boris's own operator reaches him whatever his status.
	startChat(t, s.sb, "Boris's", handoverTo(sandbox.SeedOperatorBoris))
	wantStats(t, s.nextPoll(t), 1, 1)
	if ev := boris.chatEvents(1)[0]; ev.OperatorID != sandbox.SeedOperatorBoris {
		t.Fatalf("Boris got %+v", ev)
	}
	anna.chatEvents(0)
}

func TestChatRestartDoesNotReannounce(t *testing.T) {
	fc := clock.NewFake(time.Now())
	sb := newChatSandbox(t, fc, 0)
	path := filepath.Join(t.TempDir(), "state", "chats.json")
	file := fmt.Sprintf(`{"chats": {"state_file": %q}}`, path)
	s1 := startChatHub(t, sb, fc, file)
	anna := connect(t, &s1.stack, sandbox.SeedStaffAnna)
	s1.nextPoll(t)
	x := startChat(t, sb, "Xena", handoverTo(sandbox.SeedOperatorAnna))
	wantStats(t, s1.nextPoll(t), 1, 1)
	anna.chatEvents(1)
	s1.stop()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file %v, %v", fi, err)
	}

	s2 := startChatHub(t, sb, fc, file)
	anna2 := connect(t, &s2.stack, sandbox.SeedStaffAnna)
	st := s2.nextPoll(t)
	wantStats(t, st, 0, 0)
	if st.ChatReads != 1 || st.Remembered != 1 {
		t.Fatalf("first poll after the restart: %+v", st)
	}
	anna2.chatEvents(0)
	// The restarted hub still knows the chat was announced and not answered.
	appendChat(t, sb, x.VisitorID, []sandbox.ScriptEvent{{Kind: "operator", OperatorID: sandbox.SeedOperatorAnna, Text: "Hi"}})
	wantStats(t, s2.nextPoll(t), 0, 1)
	if ev := anna2.chatEvents(1)[0]; ev.Kind != feed.ChatOperatorReply || ev.ChatID != x.ChatID {
		t.Fatalf("after restart: %+v", ev)
	}
	y := startChat(t, sb, "Yuri", handoverTo(sandbox.SeedOperatorAnna))
	wantStats(t, s2.nextPoll(t), 1, 1)
	if ev := anna2.chatEvents(1)[0]; ev.Kind != feed.ChatHandover || ev.ChatID != y.ChatID {
		t.Fatalf("new chat after restart: %+v", ev)
	}
	if strings.Contains(s2.logs.String(), "chat state unreadable") {
		t.Fatalf("state not read: %s", s2.logs.String())
	}
}

func TestChatsConfig(t *testing.T) {
	fc, err := hub.ParseFile([]byte(`{}`))
	if err != nil || !fc.Chats.On() || fc.Chats.VisitorsPerPoll != 20 || fc.Chats.BotEventTypes[0] != "bot-message" {
		t.Fatalf("defaults: %+v, %v", fc.Chats, err)
	}
	fc, err = hub.ParseFile([]byte(`{"chats": {"enabled": false, "bot_event_types": ["chatbot-message", "bot-message"]}}`))
	if err != nil || fc.Chats.On() || len(fc.Chats.BotEventTypes) != 2 {
		t.Fatalf("custom: %+v, %v", fc.Chats, err)
	}
	for _, bad := range []string{
		`{"chats": {"bot_event_types": ["operator-message"]}}`,
		`{"chats": {"visitors_per_poll": 5000}}`,
		`{"chats": {"poll_interval": "100ms"}}`,
		`{"chats": {"max_pushes_per_poll": 64}}`,
		`{"chats": {"bot_event_types": [""]}}`,
		`{"chats": {"poll_every": "10s"}}`,
	} {
		if _, err := hub.ParseFile([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
