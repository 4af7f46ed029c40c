package agent_test

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/agent/notices"
	"github.com/omnitray/omnitray/agent/notify"
	"github.com/omnitray/omnitray/sync/feed"
)

func handover(id int64, visitor string, lines ...feed.ChatLine) feed.ChatEvent {
	return feed.ChatEvent{Kind: feed.ChatHandover, ChatID: id, VisitorID: "65aa", VisitorName: visitor,
		BotName: "Helper Bot", OperatorID: "op1", Transcript: lines}
}

func startChatNotices(t *testing.T) (*agent.TestAgent, *notify.Fake) {
	h := agent.StartTestAgent(t, 1)
	h.ExpectWrite("online")
	f := notify.NewFake()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go notices.RunChats(ctx, h.A, f, notices.ChatOptions{})
	return h, f
}

func TestHandoverNotificationThenReminder(t *testing.T) {
	h, f := startChatNotices(t)
	h.PushChat(handover(1042, "Maria <b>K</b>",
		feed.ChatLine{From: "visitor", Text: "Hi"},
		feed.ChatLine{From: "bot", Text: "How can I help?"},
		feed.ChatLine{From: "visitor", Text: strings.Repeat("x", 50_000)},
		feed.ChatLine{From: "bot", Text: "What is your e-mail?"},
		feed.ChatLine{From: "visitor", Text: "maria@example.com"}))
	s := h.WaitState("recent chat", func(s agent.State) bool { return len(s.RecentChats) == 1 })
	if rc := s.RecentChats[0]; rc.VisitorName != "Maria <b>K</b>" || rc.URL != "https://app.chaport.com/#/chats/65aa" {
		t.Fatalf("recent chat %+v", rc)
	}
	h.AdvanceUntil(time.Second, "the hand-over notification", func() bool { return len(f.Sent()) == 1 })
	n := f.Sent()[0]
	if n.Topic != notices.TopicHandover || n.Title != "Maria <b>K</b> — from bot Helper Bot" {
		t.Fatalf("title %q", n.Title)
	}
	lines := strings.Split(n.Body, "\n")
	if len(lines) != 4 || lines[0] != "Bot: How can I help?" || lines[3] != "Visitor: maria@example.com" ||
		len([]rune(lines[1])) > 200 {
		t.Fatalf("body %q", n.Body)
	}
	if len(n.Actions) != 2 || n.Actions[0].Key != notices.ActionOpenChat || n.Actions[1].Key != notices.ActionDismiss {
		t.Fatalf("actions %+v", n.Actions)
	}
	// No reply within the reminder delay: one reminder.
	h.AdvanceUntil(30*time.Second, "the reminder", func() bool { return len(f.Sent()) == 2 })
	if r := f.Sent()[1]; r.Topic != notices.TopicReminder || !strings.Contains(r.Title, "still waiting") {
		t.Fatalf("reminder %+v", r)
	}
	h.Clock.Advance(10 * time.Minute)
	time.Sleep(50 * time.Millisecond)
	if len(f.Sent()) != 2 {
		t.Fatalf("more than one reminder: %+v", f.Sent())
	}
}

func TestOperatorReplyCancelsTheReminder(t *testing.T) {
	h, f := startChatNotices(t)
	h.PushChat(handover(7, "Ivan", feed.ChatLine{From: "bot", Text: "Hello"}))
	h.AdvanceUntil(time.Second, "the hand-over notification", func() bool { return len(f.Sent()) == 1 })
	h.PushChat(feed.ChatEvent{Kind: feed.ChatOperatorReply, ChatID: 7})
	time.Sleep(50 * time.Millisecond) // the reply reaches the notifier
	h.Clock.Advance(5 * time.Minute)
	time.Sleep(50 * time.Millisecond)
	if len(f.Sent()) != 1 {
		t.Fatalf("a reminder came despite the reply: %+v", f.Sent())
	}
}

func TestAThousandHandoversAreCoalesced(t *testing.T) {
	h, f := startChatNotices(t)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 1000 {
		h.PushChat(handover(int64(10_000+i), "Visitor", feed.ChatLine{From: "bot", Text: strings.Repeat("q", 500)}))
		if i%20 == 19 {
			// The hub's send queue is 64 frames (its chat watcher reads at
			// most 20 chats a poll); let the agent drain it.
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Every hand-over is counted once, in one detailed notification or in a
	// "N chats handed over" summary.
	announced := func() (shown, chats int) {
		for _, n := range f.Sent() {
			if n.Topic != notices.TopicHandover {
				continue
			}
			shown++
			if k, ok := strings.CutSuffix(n.Title, " chats handed over"); ok {
				c, _ := strconv.Atoi(k)
				chats += c
			} else {
				chats++
			}
		}
		return shown, chats
	}
	h.AdvanceUntil(time.Second, "all 1000 hand-overs announced", func() bool {
		_, chats := announced()
		return chats >= 1000
	})
	handovers, chats := announced()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if chats != 1000 {
		t.Fatalf("%d hand-overs announced, want 1000", chats)
	}
	if handovers > 20 {
		t.Fatalf("%d hand-over notifications for one burst", handovers)
	}
	if s := h.A.State(); len(s.RecentChats) != agent.MaxRecentChats {
		t.Fatalf("recent chats %d", len(s.RecentChats))
	}
	t.Logf("1000 hand-overs → %d hand-over notifications; heap %+d KB", handovers,
		(int64(after.HeapAlloc)-int64(before.HeapAlloc))/1024)
}

// TestUnnamedBotHasItsOwnWording: a hand-over whose events name no bot
// reads "from the chat bot", not the visitor placeholder "A visitor".
func TestUnnamedBotHasItsOwnWording(t *testing.T) {
	h, f := startChatNotices(t)
	ev := handover(1043, "Visitor 0a01", feed.ChatLine{From: "bot", Text: "Hi"})
	ev.BotName = ""
	h.PushChat(ev)
	s := h.WaitState("recent chat", func(s agent.State) bool { return len(s.RecentChats) == 1 })
	if s.RecentChats[0].BotName != "the chat bot" {
		t.Fatalf("recent chat bot %q", s.RecentChats[0].BotName)
	}
	h.AdvanceUntil(time.Second, "the hand-over notification", func() bool { return len(f.Sent()) == 1 })
	if got := f.Sent()[0].Title; got != "Visitor 0a01 — from the chat bot" {
		t.Fatalf("title %q", got)
	}
}
