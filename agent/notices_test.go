package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent/notify"
)

// waitSent waits until the fake notifier has sent n notifications.
func waitSent(t *testing.T, f *notify.Fake, n int) []notify.Notification {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s := f.Sent(); len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("wanted %d notifications, got %+v", n, f.Sent())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOfflineSoonNoticeAndStayOnline(t *testing.T) {
	h := startAgent(t, 1)
	h.expectWrite("online")
	f := notify.NewFake()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go h.a.RunNotices(ctx, f)

	h.push(120273) // Lunch: no chat access
	sent := waitSent(t, f, 1)
	n := sent[0]
	if n.Topic != TopicOfflineSoon || !strings.Contains(n.Title, "3:00") || !strings.Contains(n.Body, "Lunch") ||
		len(n.Actions) != 1 || n.Actions[0].Key != ActionStayOnline {
		t.Fatalf("offline-soon notification: %+v", n)
	}
	first := h.waitState("pending", func(s State) bool { return !s.OfflineAt.IsZero() }).OfflineAt

	// The action postpones the offline and the notice is replaced (same
	// topic) with the new deadline.
	f.Trigger(TopicOfflineSoon, ActionStayOnline)
	s := h.waitState("postponed", func(s State) bool { return s.OfflineAt.After(first) })
	if want := h.clock.Now().Add(StayOnlineFor); !s.OfflineAt.Equal(want) {
		t.Fatalf("offline at %v, want %v", s.OfflineAt, want)
	}
	sent = waitSent(t, f, 2)
	if sent[1].Topic != TopicOfflineSoon || !strings.Contains(sent[1].Title, "5:00") {
		t.Fatalf("repeat: %+v", sent[1])
	}
	// Access back: the notice goes away.
	h.push(1)
	deadline := time.Now().Add(10 * time.Second)
	for len(f.Dismissed()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("offline-soon notice not dismissed when chat access came back")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConnectionNoticesAreCoalesced(t *testing.T) {
	h := startAgent(t, 1)
	h.expectWrite("online")
	f := notify.NewFake()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go h.a.RunNotices(ctx, f)
	h.waitStatus(1)
	time.Sleep(50 * time.Millisecond) // let RunNotices see the connected state first

	h.drop()
	h.waitState("disconnected", func(s State) bool { return s.Connection == Disconnected })
	if len(f.Sent()) != 0 {
		t.Fatal("a blip was announced at once")
	}
	// The lost notice waits lostAfter; the reconnect timer (1 s) fires
	// first on the same clock, so jump well past both.
	h.srv.Close() // keep it down: the reconnect attempts fail
	deadline := time.Now().Add(10 * time.Second)
	for len(f.Sent()) == 0 && time.Now().Before(deadline) {
		// RunNotices arms its timer when it sees the state; move the clock
		// until it has.
		h.clock.Advance(lostAfter)
		time.Sleep(10 * time.Millisecond)
	}
	sent := waitSent(t, f, 1)
	if sent[0].Topic != TopicConnection || !strings.Contains(sent[0].Title, "lost") {
		t.Fatalf("lost notice: %+v", sent[0])
	}
}

func TestSplitNotifierRoutesActionsByTopic(t *testing.T) {
	f := notify.NewFake()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	status, chats := SplitNotifier(ctx, f)
	f.Trigger(TopicOfflineSoon, ActionStayOnline)
	f.Trigger(TopicHandover, ActionOpenChat)
	for _, tc := range []struct {
		n     notify.Notifier
		topic string
	}{{status, TopicOfflineSoon}, {chats, TopicHandover}} {
		select {
		case ev := <-tc.n.Actions():
			if ev.Topic != tc.topic {
				t.Fatalf("got %+v, want topic %s", ev, tc.topic)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no action for %s", tc.topic)
		}
	}
}
