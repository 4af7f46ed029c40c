package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent/testdesktop"
)

// scriptChat starts a sandbox chat and returns its visitor id.
func (s *stack) scriptChat(visitor string, events ...map[string]string) string {
	var out struct {
		VisitorID string `json:"visitor_id"`
	}
	s.control("POST", "/_sandbox/chats", map[string]any{"visitor_name": visitor, "events": events}, &out)
	return out.VisitorID
}

func (s *stack) appendChat(visitorID string, events ...map[string]string) {
	s.control("POST", fmt.Sprintf("/_sandbox/chats/%s/events", visitorID), map[string]any{"events": events}, nil)
}

func ev(kind, text string) map[string]string {
	m := map[string]string{"kind": kind, "text": text}
	switch kind {
	case "bot":
		m["bot"] = "Helper Bot"
	case "handover", "operator":
		m["operator_id"] = opAnna
	}
	return m
}

// TestDesktopBotHandover: a scripted chat visitor → bot → visitor → bot →
// hand-over → operator, through the real hub, agent and dunst.
func TestDesktopBotHandover(t *testing.T) {
	testdesktop.Need(t, "display")
	s := startStack(t)
	s.setStaffStatus(staffAnna, statusOnline)
	w := testdesktop.WatchNotifications(t)
	startTrayAgent(t, s, staffAnna, "--chat-reminder", "8s")
	s.waitWrite(opAnna, "online", 0)
	fromBot := func(n testdesktop.Notify) bool { return strings.Contains(n.Summary, "from bot Helper Bot") }

	evil := `<b>x</b> & <a href="y">`
	vid := s.scriptChat("Maria", ev("visitor", "Hi"), ev("bot", "How can I help?"),
		ev("visitor", evil), ev("bot", strings.Repeat("long ", 30_000)))
	// The bot alone handles it: three hub polls later, still nothing.
	if n, ok := w.WaitFor(3500*time.Millisecond, fromBot); ok {
		t.Fatalf("notified before the hand-over: %+v", n)
	}
	s.appendChat(vid, ev("handover", ""))
	first, ok := w.WaitFor(guard, fromBot)
	if !ok {
		t.Fatal("no hand-over notification")
	}
	if first.Summary != "Maria — from bot Helper Bot" {
		t.Errorf("summary %q", first.Summary)
	}
	for _, want := range []string{"Bot: How can I help?", "Visitor: &lt;b&gt;x&lt;/b&gt; &amp; &lt;a href=&#34;y&#34;&gt;"} {
		if !strings.Contains(first.Body, want) {
			t.Errorf("body %q lacks %q", first.Body, want)
		}
	}
	if strings.Contains(first.Body, "<b>") || len(first.Body) > 4000 {
		t.Errorf("body not escaped or not trimmed (%d bytes)", len(first.Body))
	}
	// No reply: exactly one reminder after the (shortened) delay, and no
	// second hand-over notice.
	reminder, ok := w.WaitFor(guard, func(n testdesktop.Notify) bool { return strings.Contains(n.Summary, "still waiting") })
	if !ok || !strings.Contains(reminder.Summary, "Maria") {
		t.Fatalf("no reminder: %+v", reminder)
	}
	if n, ok := w.WaitFor(time.Second, fromBot); ok {
		t.Fatalf("a second hand-over notice: %+v", n)
	}

	// A chat the operator answers in time gets no reminder.
	vid2 := s.scriptChat("Ivan", ev("visitor", "Hello"), ev("bot", "Your order number?"), ev("visitor", "42"))
	s.appendChat(vid2, ev("handover", ""))
	if _, ok := w.WaitFor(guard, func(n testdesktop.Notify) bool { return strings.HasPrefix(n.Summary, "Ivan") }); !ok {
		t.Fatal("no hand-over notification for Ivan")
	}
	s.appendChat(vid2, ev("operator", "Hi Ivan, looking at it"))
	if n, ok := w.WaitFor(10*time.Second, func(n testdesktop.Notify) bool {
		return strings.Contains(n.Summary, "Ivan is still waiting")
	}); ok {
		t.Fatalf("reminder despite the operator's reply: %+v", n)
	}
}
