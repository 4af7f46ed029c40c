package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/rules"
)

// TestDriftCheckWithoutALease: Omnitray's offline lease ended, then someone
// set the operator online in Chaport while Omnidesk gives no chat access.
// The read-back runs anyway, the state says so, and (reconcile) offline is
// written again.
func TestDriftCheckWithoutALease(t *testing.T) {
	h := startAgentWith(t, 2, func(c *Config) { c.DriftCheck = 30 * time.Second })
	h.waitState("countdown", func(s State) bool { return !s.OfflineAt.IsZero() })
	h.clock.Advance(3 * time.Minute)
	h.expectWrite("offline")
	h.waitState("offline", func(s State) bool { return s.Chaport == "offline" })
	h.realStatus.Store("offline")
	h.clock.Advance(3 * time.Minute) // the offline lease (2m) ended
	h.realStatus.Store("online")     // set by hand in Chaport
	h.advanceUntil(5*time.Second, "a read-back after the lease", func() bool {
		return strings.Contains(h.a.State().Drift, "Chaport shows online")
	})
	s := h.a.State()
	if !strings.Contains(s.Reason, "gives no chat access") || s.ChaportSeen == nil || s.ChaportSeen.RealStatus != "online" {
		t.Fatalf("state %+v", s)
	}
	if out := s.Format(h.clock.Now()); !strings.Contains(out, "Chaport showed online") {
		t.Fatalf("status output lacks what Chaport showed:\n%s", out)
	}
	h.expectWrite("offline")
}

// TestPauseIsHonest: a pause writes nothing; its why line names the end of
// the online lease, the state changes when that lease ends (so the tray
// re-renders), and then says Chaport is what was set there.
func TestPauseIsHonest(t *testing.T) {
	h := startAgent(t, 1)
	h.expectWrite("online")
	h.waitState("online", func(s State) bool { return s.Chaport == "online" })
	if err := h.a.Pause(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	s := h.waitState("paused", func(s State) bool { return s.Paused })
	end := s.LeaseExpires
	if !strings.Contains(s.Reason, "online lease ends at "+end.Local().Format("15:04:05")) || s.LeaseLapsed {
		t.Fatalf("paused state %+v", s)
	}
	h.clock.Advance(time.Minute) // the renewal would be due now
	h.expectNoWrite()
	h.clock.Set(end)
	s = h.waitState("lease ended", func(s State) bool { return s.LeaseLapsed })
	if !strings.Contains(s.Reason, "Chaport shows what you set there") {
		t.Fatalf("after the lease: %q", s.Reason)
	}
	if out := s.Format(end); !strings.Contains(out, "lease lapsed") || !strings.Contains(out, "paused") {
		t.Fatalf("status output:\n%s", out)
	}
	if err := h.a.Pause(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	h.expectWrite("online")
}

// TestPresenceIsLoggedOnce: a locked screen's line is logged once, however
// often the loop wakes while it stays locked.
func TestPresenceIsLoggedOnce(t *testing.T) {
	var log strings.Builder
	lw := &lockedWriter{w: &log}
	h := startAgentWith(t, 1, func(c *Config) { c.Logger = newTestLogger(lw) })
	h.expectWrite("online")
	if err := h.a.SetPresence(context.Background(), rules.Presence{Locked: true}); err != nil {
		t.Fatal(err)
	}
	h.expectWrite("offline")
	for range 3 { // each status message wakes the loop
		h.push(130001)
		h.waitStatus(130001)
		h.push(1)
		h.waitStatus(1)
	}
	if n := strings.Count(lw.String(), "Screen locked"); n != 1 {
		t.Fatalf("%d lines about the lock:\n%s", n, lw.String())
	}
}
