package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

func (h *fakeHub) pushDevices(d feed.Devices) {
	h.mu.Lock()
	defer h.mu.Unlock()
	env, _ := feed.NewEnvelope(feed.TypeDevices, "", d)
	if err := h.conn.Send(env); err != nil {
		h.t.Fatal(err)
	}
}

func devices(selfOwner bool, laptopState string) feed.Devices {
	return feed.Devices{Owner: selfOwner, Devices: []feed.Device{
		{Host: "desk", State: feed.PresencePresent, Self: true, Owner: selfOwner},
		{Host: "laptop", State: laptopState, Owner: !selfOwner && laptopState == feed.PresencePresent},
	}}
}

// Two computers of one employee (issue 11 §2): locking the desk while the
// employee works on the laptop writes nothing (it used to write offline and
// make the operator flap); while the laptop keeps the operator, the desk
// neither renews nor writes; when the laptop goes, the desk takes over.
func TestAnotherComputerKeepsTheOperator(t *testing.T) {
	h := startAgentWith(t, 1, func(c *Config) { c.ComputerName = "desk" })
	h.waitStatus(1)
	h.expectWrite("online")
	h.pushDevices(devices(true, feed.PresencePresent))
	h.waitState("the laptop listed", func(s State) bool { return len(s.OtherComputers) == 1 })

	// The desk is locked; the laptop is present.
	if err := h.a.SetPresence(context.Background(), rules.Presence{Locked: true}); err != nil {
		t.Fatal(err)
	}
	st := h.waitState("held for the laptop", func(s State) bool { return strings.Contains(s.Reason, "also active on laptop") })
	if st.Action != rules.Hold.String() {
		t.Fatalf("action %s while the laptop is present", st.Action)
	}
	h.expectNoWrite()

	// Unlocked, but the hub gave the laptop the operator meanwhile: the
	// desk lets its lease go rather than renew it.

	h.pushDevices(devices(false, feed.PresencePresent))
	_ = h.a.SetPresence(context.Background(), rules.Presence{})
	h.waitState("left to the laptop", func(s State) bool { return strings.Contains(s.Reason, "left to laptop") })
	h.clock.Advance(DefaultLease/2 + time.Second)
	h.expectNoWrite()

	// The laptop is locked: the desk keeps the operator again.
	h.pushDevices(devices(true, feed.PresenceLocked))
	h.waitState("keeps it", func(s State) bool { return s.Action == rules.KeepOnline.String() })
	h.clock.Advance(DefaultLease/2 + time.Second) // and renews the lease
	h.expectWrite("online")
}

// Alone, a lock writes offline at once, as before.
func TestLockAloneGoesOffline(t *testing.T) {
	h := startAgentWith(t, 1, func(c *Config) { c.ComputerName = "desk" })
	h.waitStatus(1)
	h.expectWrite("online")
	h.pushDevices(devices(true, feed.PresenceLocked))
	_ = h.a.SetPresence(context.Background(), rules.Presence{Locked: true})
	h.expectWrite("offline")
}
