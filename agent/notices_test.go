package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/agent/notices"
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
	h := agent.StartTestAgent(t, 1)
	h.ExpectWrite("online")
	f := notify.NewFake()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go notices.Run(ctx, h.A, f)

	h.Push(120273) // Lunch: no chat access
	sent := waitSent(t, f, 1)
	n := sent[0]
	if n.Topic != notices.TopicOfflineSoon || !strings.Contains(n.Title, "3:00") || !strings.Contains(n.Body, "Lunch") ||
		len(n.Actions) != 1 || n.Actions[0].Key != notices.ActionStayOnline {
		t.Fatalf("offline-soon notification: %+v", n)
	}
	first := h.WaitState("pending", func(s agent.State) bool { return !s.OfflineAt.IsZero() }).OfflineAt

	// The action postpones the offline and the notice is replaced (same
	// topic) with the new deadline.
	f.Trigger(notices.TopicOfflineSoon, notices.ActionStayOnline)
	s := h.WaitState("postponed", func(s agent.State) bool { return s.OfflineAt.After(first) })
	if want := h.Clock.Now().Add(agent.StayOnlineFor); !s.OfflineAt.Equal(want) {
		t.Fatalf("offline at %v, want %v", s.OfflineAt, want)
	}
	sent = waitSent(t, f, 2)
	if sent[1].Topic != notices.TopicOfflineSoon || !strings.Contains(sent[1].Title, "5:00") {
		t.Fatalf("repeat: %+v", sent[1])
	}
	// Access back: the notice goes away.
	h.Push(1)
	deadline := time.Now().Add(10 * time.Second)
	for len(f.Dismissed()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("offline-soon notice not dismissed when chat access came back")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConnectionNoticesAreCoalesced(t *testing.T) {
	h := agent.StartTestAgent(t, 1)
	h.ExpectWrite("online")
	f := notify.NewFake()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go notices.Run(ctx, h.A, f)
	h.WaitStatus(1)
	time.Sleep(50 * time.Millisecond) // let notices.Run see the connected state first

	h.Drop()
	h.WaitState("disconnected", func(s agent.State) bool { return s.Connection == agent.Disconnected })
	if len(f.Sent()) != 0 {
		t.Fatal("a blip was announced at once")
	}
	// The lost notice waits notices.LostAfter; the reconnect timer (1 s) fires
	// first on the same clock, so jump well past both.
	h.CloseHub() // keep it down: the reconnect attempts fail
	deadline := time.Now().Add(10 * time.Second)
	for len(f.Sent()) == 0 && time.Now().Before(deadline) {
		// notices.Run arms its timer when it sees the state; move the clock
		// until it has.
		h.Clock.Advance(notices.LostAfter)
		time.Sleep(10 * time.Millisecond)
	}
	sent := waitSent(t, f, 1)
	if sent[0].Topic != notices.TopicConnection || !strings.Contains(sent[0].Title, "lost") {
		t.Fatalf("lost notice: %+v", sent[0])
	}
}

// startSeen starts an agent whose hub says Chaport shows real for the
// operator, read at the fake clock's start.
func startSeen(t *testing.T, status int64, real string) (*agent.TestAgent, *notify.Fake) {
	hs := agent.StartSeenTestAgent(t, status, real)
	f := notify.NewFake()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go notices.Run(ctx, hs.A, f)
	return hs, f
}

// TestNoCountdownWhenChaportIsAlreadyOffline: Omnidesk offline at start and
// Chaport already offline: no countdown, no "goes offline" notification,
// no offline write, and the why line says so.
func TestNoCountdownWhenChaportIsAlreadyOffline(t *testing.T) {
	h, f := startSeen(t, 2, "offline")
	s := h.WaitStatus(2)
	if !s.OfflineAt.IsZero() || !strings.Contains(s.Reason, "Chaport already offline") || strings.Contains(s.Reason, " in ") {
		t.Fatalf("state %+v: want no countdown and an honest why line", s)
	}
	h.Clock.Advance(3 * time.Minute)
	h.ExpectNoWrite()
	if sent := f.Sent(); len(sent) != 0 {
		t.Fatalf("notified %+v", sent)
	}
	// Access back: online at once, as ever.
	h.Push(1)
	h.ExpectWrite("online")
}

// TestCountdownWhenChaportShowsOnline: the same start with Chaport online
// (say, set by hand) still counts down and writes offline after the grace.
func TestCountdownWhenChaportShowsOnline(t *testing.T) {
	h, f := startSeen(t, 2, "online")
	s := h.WaitState("countdown", func(s agent.State) bool { return !s.OfflineAt.IsZero() && s.Connection == agent.Connected })
	if !strings.Contains(s.Reason, "Chaport offline in 3m0s") {
		t.Fatalf("reason %q", s.Reason)
	}
	waitSent(t, f, 1)
	h.Clock.Advance(3 * time.Minute)
	h.ExpectWrite("offline")
}

// A click on "Open Omnidesk" opens the address the hub gave; other topics'
// clicks go the other way, to the notices that own them.
func TestSwitchNoticeOpensOmnidesk(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := agent.New(agent.Config{HubURL: "http://127.0.0.1:1", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	agent.PublishState(a, agent.State{Connection: agent.Connected, OmnideskURL: "https://acme.omnidesk.ru"})
	f := notify.NewFake()
	rest, switches := notices.SplitSwitch(ctx, f)
	opened := make(chan string, 4)
	go notices.RunSwitchActions(ctx, a, switches, func(u string) error { opened <- u; return nil })

	f.Trigger(notices.TopicOfflineSoon, notices.ActionStayOnline)
	select {
	case ev := <-rest.Actions():
		if ev.Topic != notices.TopicOfflineSoon {
			t.Fatalf("rest got %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("another topic's click did not reach the rest")
	}
	f.Trigger(notices.TopicSwitch, notices.ActionOpenOmnidesk)
	select {
	case u := <-opened:
		if u != "https://acme.omnidesk.ru" {
			t.Fatalf("opened %q", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Open Omnidesk opened nothing")
	}
}
