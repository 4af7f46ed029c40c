package hub

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
)

// An employee's computers may be connected to different replicas; they are
// still one employee: one of them keeps the Chaport operator (devices.go),
// and a hand-over reaches all of them. Each replica tells the others which
// computers it holds for whom: at once on every change, and in full every
// devicesHeartbeat, so that a replica that starts late learns them and one
// that died (its word not renewed within devicesExpire) is forgotten.

const (
	subjectDevices = "devices" // any → all: a replica's computers, by staff
	subjectChat    = "chat"    // leader → one replica: a chat message for an employee's agents

	devicesHeartbeat = 5 * time.Second
	devicesExpire    = 3 * devicesHeartbeat
	// devicesChunk bounds a heartbeat message: a replica with thousands of
	// agents sends several, each well under the engine's message size.
	devicesChunk = 500
)

// remoteDevice is one computer connected to another replica.
type remoteDevice struct {
	Host   string    `json:"host"`
	State  string    `json:"state,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Joined time.Time `json:"joined"`
	Seq    uint64    `json:"seq"`
	// Instance is the agent's (feed.InstanceHeader): the same computer
	// connected to two replicas is one computer, the later session.
	Instance string `json:"instance,omitempty"`
	node     string
}

type devicesMsg struct {
	Node  string                   `json:"node"`
	Staff map[int64][]remoteDevice `json:"staff"`
}

type chatMsg struct {
	Node  string        `json:"node"`
	Staff int64         `json:"staff"`
	Env   feed.Envelope `json:"env"`
}

// remoteSessions is what one replica last said of one employee's
// computers. An employee has a few at most: a slice per employee costs a
// fraction of a map per employee, with thousands of employees.
type remoteSessions struct {
	node    string
	devices []remoteDevice
	heard   time.Time
}

// localDevices is how this replica describes staffID's computers to the
// others. Under the directory's lock.
func (r *subscribers) localDevices(staffID int64) []remoteDevice {
	var out []remoteDevice
	for s := range r.byStaff[staffID] {
		out = append(out, s.asDevice(r.node))
	}
	return out
}

// asDevice describes s's computer as every replica orders it; node names
// the replica holding s. Under the directory's lock.
func (s *session) asDevice(node string) remoteDevice {
	return remoteDevice{Host: s.device.host, State: s.device.state, Since: s.device.since,
		Joined: s.joined, Seq: s.seq, Instance: s.instance, node: node}
}

// setRemote stores what node said of staffID's computers (none: forget)
// and reports whether that changed anything.
func (r *subscribers) setRemote(node string, staffID int64, devs []remoteDevice, now time.Time) bool {
	list := r.remote[staffID]
	i := slices.IndexFunc(list, func(rs remoteSessions) bool { return rs.node == node })
	if len(devs) == 0 {
		if i < 0 {
			return false
		}
		r.setRemoteList(staffID, slices.Delete(list, i, i+1))
		return true
	}
	for k := range devs {
		devs[k].node = node
		devs[k].Host = cleanHost(devs[k].Host)
		if !feed.ValidPresenceState(devs[k].State) {
			devs[k].State = ""
		}
	}
	if i < 0 {
		r.remote[staffID] = append(list, remoteSessions{node: node, devices: devs, heard: now})
		return true
	}
	same := slices.EqualFunc(list[i].devices, devs, func(a, b remoteDevice) bool { return a == b })
	list[i] = remoteSessions{node: node, devices: devs, heard: now}
	return !same
}

func (r *subscribers) setRemoteList(staffID int64, list []remoteSessions) {
	if len(list) == 0 {
		delete(r.remote, staffID)
		return
	}
	r.remote[staffID] = list
}

// expireRemote forgets what replicas have not repeated since before; it
// returns the staff whose computers that changed.
func (r *subscribers) expireRemote(before time.Time) (changed []int64) {
	for staffID, list := range r.remote {
		kept := slices.DeleteFunc(list, func(rs remoteSessions) bool { return rs.heard.Before(before) })
		if len(kept) != len(list) {
			changed = append(changed, staffID)
		}
		r.setRemoteList(staffID, kept)
	}
	return changed
}

// remoteOf lists staffID's computers on other replicas, oldest first.
func (r *subscribers) remoteOf(staffID int64) []remoteDevice {
	var out []remoteDevice
	for _, rs := range r.remote[staffID] {
		out = append(out, rs.devices...)
	}
	slices.SortFunc(out, compareDevices)
	return out
}

// compareDevices orders computers by when they joined, across replicas;
// the node and sequence only break ties, the same way on every replica.
func compareDevices(a, b remoteDevice) int {
	return cmp.Or(a.Joined.Compare(b.Joined), cmp.Compare(a.node, b.node), cmp.Compare(a.Seq, b.Seq))
}

// shareDevices tells the other replicas staffID's computers here.
func (h *Hub) shareDevices(staffID int64) {
	if h.rep == nil {
		return
	}
	h.dir.mu.Lock()
	devs := h.dir.subs.localDevices(staffID)
	h.dir.mu.Unlock()
	h.rep.publish(subjectDevices, devicesMsg{Node: h.rep.r.Node(), Staff: map[int64][]remoteDevice{staffID: devs}})
}

// followDevices applies the other replicas' word on their computers and
// repeats this replica's own every devicesHeartbeat, until ctx ends.
func (h *Hub) followDevices(ctx context.Context) error {
	err := h.rep.r.Subscribe(ctx, subjectDevices, func(data []byte) {
		var m devicesMsg
		if err := json.Unmarshal(data, &m); err != nil || m.Node == "" {
			h.log.Warn("ignoring a malformed devices message from another replica", "err", err)
			return
		}
		now := h.clock.Now()
		var changed []int64
		h.dir.mu.Lock()
		for staffID, devs := range m.Staff {
			if h.dir.subs.setRemote(m.Node, staffID, devs, now) && h.dir.subs.has(staffID) {
				changed = append(changed, staffID)
			}
		}
		h.dir.mu.Unlock()
		for _, staffID := range changed {
			h.pushLocalDevices(staffID)
		}
	})
	if err != nil {
		return err
	}
	err = h.rep.r.Subscribe(ctx, subjectChat, func(data []byte) {
		var m chatMsg
		if err := json.Unmarshal(data, &m); err != nil || m.Node != h.rep.r.Node() {
			return // another replica's agents
		}
		h.dir.mu.Lock()
		to := h.dir.subs.of(m.Staff)
		h.dir.mu.Unlock()
		for _, s := range to {
			s.send(m.Env)
		}
	})
	if err != nil {
		return err
	}
	go h.repeatDevices(ctx)
	return nil
}

// repeatDevices is the heartbeat: every computer here, in chunks, and the
// others' word that has not been repeated forgotten.
func (h *Hub) repeatDevices(ctx context.Context) {
	for {
		t := h.clock.NewTimer(devicesHeartbeat)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		now := h.clock.Now()
		var chunks []map[int64][]remoteDevice
		h.dir.mu.Lock()
		chunk := map[int64][]remoteDevice{}
		for staffID := range h.dir.subs.staff() {
			chunk[staffID] = h.dir.subs.localDevices(staffID)
			if len(chunk) == devicesChunk {
				chunks, chunk = append(chunks, chunk), map[int64][]remoteDevice{}
			}
		}
		if len(chunk) > 0 {
			chunks = append(chunks, chunk)
		}
		gone := h.dir.subs.expireRemote(now.Add(-devicesExpire))
		h.dir.mu.Unlock()
		for _, c := range chunks {
			h.rep.publish(subjectDevices, devicesMsg{Node: h.rep.r.Node(), Staff: c})
		}
		for _, staffID := range gone {
			h.pushLocalDevices(staffID)
		}
	}
}

// remoteRecipient is an employee's agents on another replica, as the chat
// watcher pushes to them: comparable, so the watcher's per-poll cap counts
// it as one.
type remoteRecipient struct {
	h     *Hub
	node  string
	staff int64
}

func (r remoteRecipient) Send(env feed.Envelope) {
	r.h.rep.publish(subjectChat, chatMsg{Node: r.node, Staff: r.staff, Env: env})
}

// remoteRecipients lists, for each staff member that match accepts, one
// recipient per other replica holding their computers. Under the lock.
func (d *directory) remoteRecipients(h *Hub, match func(staffID int64) bool) []remoteRecipient {
	var out []remoteRecipient
	for staffID, list := range d.subs.remote {
		if !match(staffID) {
			continue
		}
		for _, rs := range list {
			out = append(out, remoteRecipient{h: h, node: rs.node, staff: staffID})
		}
	}
	return out
}
