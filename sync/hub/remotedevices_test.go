package hub

import (
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
)

// After a replica dies, its sessions linger in the others' view until its
// word expires. The same agent reconnected here is one computer, not two:
// it must keep the operator rather than wait behind its own ghost.
func TestReconnectedAgentIsNotItsOwnGhost(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	r := newSubscribers()
	r.node = "b"
	r.setRemote("a", 7, []remoteDevice{{Host: "desk", Joined: t0, Seq: 1, Instance: "agent-x"}}, t0)
	s := &session{staffID: 7, joined: t0.Add(10 * time.Second), instance: "agent-x", device: device{host: "desk"}}
	r.add(7, s, 8)
	d := r.devices(7)[s]
	if len(d.Devices) != 1 || !d.Owner {
		t.Fatalf("devices %+v, want the one computer, keeping the operator", d)
	}

	// A second computer on the dead replica is still a second computer.
	r.setRemote("a", 7, []remoteDevice{{Host: "desk", Joined: t0, Seq: 1, Instance: "agent-x"},
		{Host: "laptop", Joined: t0, Seq: 2, Instance: "agent-y", State: feed.PresencePresent}}, t0)
	d = r.devices(7)[s]
	if len(d.Devices) != 2 || d.Owner {
		t.Fatalf("devices %+v, want the laptop (earlier) keeping the operator", d)
	}
}
