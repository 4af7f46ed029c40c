package agent

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

func TestLeaseKeeper(t *testing.T) {
	h := startAgent(t, 1)
	w := h.expectWrite("online")
	if w.TTLSeconds != 120 {
		t.Fatalf("ttl %d, want the default lease of 120 s", w.TTLSeconds)
	}
	h.waitState("lease", func(s State) bool { return s.Chaport == "online" && !s.LeaseExpires.IsZero() })

	// Renewal at half the lease, not before.
	h.clock.Advance(59 * time.Second)
	h.expectNoWrite()
	h.clock.Advance(time.Second)
	h.expectWrite("online")
	h.waitState("renewed lease", func(s State) bool { return s.LeaseExpires.Equal(h.clock.Now().Add(2 * time.Minute)) })

	// A custom status with chat access changes nothing.
	h.push(130001)
	h.waitStatus(130001)
	h.expectNoWrite()

	// No chat access: offline only once the grace delay has passed.
	h.push(120273)
	s := h.waitStatus(120273)
	if want := h.clock.Now().Add(3 * time.Minute); !s.OfflineAt.Equal(want) {
		t.Fatalf("offline at %v, want %v", s.OfflineAt, want)
	}
	h.clock.Advance(3*time.Minute - time.Second)
	h.expectNoWrite()
	h.clock.Advance(time.Second)
	h.expectWrite("offline")
	h.waitState("offline written", func(s State) bool { return s.Chaport == "offline" && s.OfflineAt.IsZero() })

	// Access back: online at once.
	h.push(1)
	h.expectWrite("online")
	h.waitState("online again", func(s State) bool { return s.Chaport == "online" })

	// Access lost and back within the grace: no offline at all.
	h.push(3)
	h.waitStatus(3)
	h.clock.Advance(30 * time.Second)
	h.push(1)
	h.waitStatus(1)
	h.expectNoWrite()
	h.clock.Advance(2 * time.Minute)
	h.expectWrite("online") // a renewal, not an offline
}

func TestGraceKeepsTheOperatorOnline(t *testing.T) {
	h := startAgent(t, 1)
	h.expectWrite("online") // lease until 2:00, renewal due at 1:00
	h.push(120273)
	h.waitStatus(120273) // offline due at 3:00
	h.clock.Advance(59 * time.Second)
	h.expectNoWrite()
	h.clock.Advance(time.Second)
	w := h.expectWrite("extend") // renewed through extend_online, not set_chaport
	if w.TTLSeconds != 120 {
		t.Fatalf("asked for %d s", w.TTLSeconds)
	}
	// The hub granted only 30 s: the next extension is due at half of that.
	s := h.waitState("extended lease", func(s State) bool { return s.LeaseExpires.Equal(h.clock.Now().Add(30 * time.Second)) })
	_ = s
	h.clock.Advance(15 * time.Second)
	h.expectWrite("extend")
	h.clock.Advance(2 * time.Minute) // past the offline deadline
	for {
		w := h.expectWrite("")
		if w.Status == "offline" {
			break
		}
	}
}

func TestHubLossLetsTheLeaseLapse(t *testing.T) {
	h := startAgent(t, 1)
	h.expectWrite("online")
	h.drop()
	s := h.waitState("disconnected", func(s State) bool { return s.Connection == Disconnected })
	if s.StatusID != 0 || s.Action != rules.Hold.String() {
		t.Fatalf("while disconnected the agent pretends: %+v", s)
	}
	h.expectNoWrite()
	// Back after the lease's half-life (the feed client's reconnect timer
	// runs on the same fake clock): the fresh snapshot renews at once. A
	// shorter outage would need no write, as the lease still holds.
	h.clock.Advance(61 * time.Second)
	h.waitStatus(1)
	h.expectWrite("online")
}

func TestFailedWritesBackOff(t *testing.T) {
	h := startAgent(t, 3)
	var failing atomic.Bool
	failing.Store(true)
	h.refuse = func(sc feed.SetChaport) *feed.RemoteError {
		if failing.Load() {
			return &feed.RemoteError{Code: feed.CodeUnavailable, Message: "Chaport could not be reached"}
		}
		return nil
	}
	h.waitStatus(3)
	h.clock.Advance(3 * time.Minute)
	h.waitState("error shown", func(s State) bool { return s.LastError != "" })
	h.expectNoWrite()
	failing.Store(false)
	h.clock.Advance(time.Second) // first retry after 1 s
	h.expectWrite("offline")
	h.waitState("error cleared", func(s State) bool { return s.LastError == "" && s.Chaport == "offline" })
}

func TestLockAndSleepGoOfflineAtOnce(t *testing.T) {
	h := startAgent(t, 1)
	h.expectWrite("online")
	ctx := context.Background()
	if err := h.a.SetPresence(ctx, rules.Presence{Locked: true}); err != nil {
		t.Fatal(err)
	}
	h.expectWrite("offline") // no grace for a locked screen
	if err := h.a.SetPresence(ctx, rules.Presence{}); err != nil {
		t.Fatal(err)
	}
	h.expectWrite("online") // unlocked, and the status still has chat access

	// Before sleep the caller waits until the offline has really landed.
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.a.SetPresenceAndWait(wait, rules.Presence{Asleep: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-h.writes:
		if w.Status != "offline" {
			t.Fatalf("wrote %q before sleep", w.Status)
		}
	default:
		t.Fatal("SetPresenceAndWait returned before the offline write landed")
	}
	// Waking up with a status that lost chat access meanwhile: stay offline.
	h.push(3)
	h.waitStatus(3)
	if err := h.a.SetPresence(ctx, rules.Presence{}); err != nil {
		t.Fatal(err)
	}
	h.expectNoWrite()
}

// An online write whose answer is lost may have landed: a later offline
// must be written even though the last confirmed status was offline.
func TestUnansweredOnlineIsUndone(t *testing.T) {
	h := startAgent(t, 1)
	h.expectWrite("online")
	ctx := context.Background()
	if err := h.a.SetPresence(ctx, rules.Presence{Locked: true}); err != nil {
		t.Fatal(err)
	}
	h.expectWrite("offline")
	h.waitState("offline confirmed", func(s State) bool { return s.Chaport == "offline" })

	h.loseAnswer.Store(true)
	if err := h.a.SetPresence(ctx, rules.Presence{}); err != nil {
		t.Fatal(err)
	}
	h.expectWrite("online") // lands in Chaport; the answer never comes
	h.waitState("disconnected", func(s State) bool { return s.Connection == Disconnected })
	if err := h.a.SetPresence(ctx, rules.Presence{Locked: true}); err != nil {
		t.Fatal(err)
	}
	for h.clock.Pending() == 0 { // the reconnect timer, armed after the drop
		time.Sleep(time.Millisecond)
	}
	h.clock.Advance(time.Second) // the feed client reconnects
	h.waitState("reconnected", func(s State) bool {
		return s.Connection == Connected && s.LastError != "" && s.Action == rules.GoOfflineAt.String()
	})
	h.clock.Advance(time.Second) // the failed write's back-off
	h.expectWrite("offline")
}
