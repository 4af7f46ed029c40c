package agent

import (
	"strings"
	"testing"
	"time"
)

func TestDriftIsReconciled(t *testing.T) {
	h := startAgentWith(t, 1, func(c *Config) { c.DriftCheck = 30 * time.Second })
	h.expectWrite("online")
	h.waitState("online", func(s State) bool { return s.Chaport == "online" })
	h.realStatus.Store("offline") // someone set offline in Chaport's UI
	h.advanceUntil(5*time.Second, "a read-back", func() bool { return h.reads.Load() > 0 })
	h.expectWrite("online") // written again at once
	s := h.waitState("drift in the why line", func(s State) bool { return s.Drift != "" })
	if !strings.Contains(s.Reason, "Chaport shows offline though Omnitray set online") {
		t.Fatalf("reason %q", s.Reason)
	}
}

func TestDriftIsReportedWhenAsked(t *testing.T) {
	h := startAgentWith(t, 1, func(c *Config) { c.DriftCheck = 30 * time.Second; c.DriftPolicy = DriftReport })
	h.expectWrite("online")
	h.waitState("online", func(s State) bool { return s.Chaport == "online" })
	h.realStatus.Store("invisible")
	h.advanceUntil(5*time.Second, "a read-back", func() bool { return h.reads.Load() > 0 })
	s := h.waitState("drift reported", func(s State) bool { return s.Drift != "" })
	if !strings.Contains(s.Reason, "Chaport shows invisible") || strings.Contains(s.Reason, "set again") {
		t.Fatalf("reason %q", s.Reason)
	}
	h.expectNoWrite() // reported, not overwritten (the renewal is a minute away)
}
