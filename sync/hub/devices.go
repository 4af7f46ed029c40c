package hub

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/omnitray/omnitray/sync/feed"
)

// One employee, several computers. Each agent reports whether the employee
// is at its computer (feed.Presence); the hub combines an employee's
// sessions and tells each of them which one keeps the Chaport operator: the
// present one that connected first. The others write nothing while it is
// there, so locking one computer does not take the operator offline while
// the employee works on another, and two computers never fight over the
// lease or each other's drift checks. When the keeper goes (locked, asleep,
// disconnected), the next present computer takes over at once; when none is
// present, each writes offline for its own absence as a lone computer does.

// device is what the hub knows of one session's computer; the subscriber
// registry writes it, under the directory's lock.
type device struct {
	host  string
	state string // feed.Presence*; "" until the agent reports
	since time.Time
}

// present counts a computer that has not reported yet as present: an agent
// that does not report presence (an older one) behaves as it always did.
func (d device) present() bool { return d.state == "" || d.state == feed.PresencePresent }

// devices builds each of the staff member's sessions its Devices message:
// the computers here and those other replicas hold (remotedevices.go), in
// the order they joined, the first present one keeping the operator.
func (r *subscribers) devices(staffID int64) map[*session]feed.Devices {
	type computer struct {
		dev remoteDevice
		s   *session // nil on another replica
	}
	var all []computer
	for _, s := range r.of(staffID) {
		all = append(all, computer{s.asDevice(r.node), s})
	}
	local := len(all)
	for _, d := range r.remoteOf(staffID) {
		all = append(all, computer{dev: d})
	}
	slices.SortFunc(all, func(a, b computer) int { return compareDevices(a.dev, b.dev) })
	// One agent seen on two replicas is one computer that moved: its
	// session on a replica that died lingers there until that replica's
	// word expires, and must not keep the operator from the live one.
	latest := map[string]int{}
	for i, c := range all {
		if c.dev.Instance != "" {
			latest[c.dev.Instance] = i // sorted by join time: the last wins
		}
	}
	kept := all[:0:0]
	for i, c := range all {
		if j, ok := latest[c.dev.Instance]; !ok || j == i || c.s != nil {
			kept = append(kept, c) // this replica's own sessions stay listed until they close
		}
	}
	all = kept
	owner := -1
	for i, c := range all {
		if (device{state: c.dev.State}).present() {
			owner = i
			break
		}
	}
	out := make(map[*session]feed.Devices, local)
	for _, c := range all {
		to := c.s
		if to == nil {
			continue
		}
		msg := feed.Devices{Devices: make([]feed.Device, 0, len(all))}
		for i, d := range all {
			state := cmp.Or(d.dev.State, feed.PresencePresent)
			msg.Devices = append(msg.Devices, feed.Device{Host: d.dev.Host, State: state,
				Owner: i == owner, Self: d.s == to, Since: d.dev.Since})
			if d.s == to {
				msg.Owner = i == owner
			}
		}
		out[to] = msg
	}
	return out
}

// pushDevices tells every session of staffID, here and on the other
// replicas, who else is connected.
func (h *Hub) pushDevices(staffID int64) {
	h.pushLocalDevices(staffID)
	h.shareDevices(staffID)
}

// pushLocalDevices tells this replica's sessions of staffID. It sends
// under the directory's lock so that two updates cannot reach an agent out
// of order (Send never blocks).
func (h *Hub) pushLocalDevices(staffID int64) {
	h.dir.mu.Lock()
	defer h.dir.mu.Unlock()
	for s, msg := range h.dir.subs.devices(staffID) {
		if env, err := feed.NewEnvelope(feed.TypeDevices, "", msg); err == nil {
			s.send(env)
		}
	}
}

// setPresence records a session's report; it says whether anything changed.
func (r *subscribers) setPresence(s *session, p feed.Presence) bool {
	host := cleanHost(p.Host)
	if s.device.host == host && s.device.state == p.State {
		return false
	}
	s.device.host, s.device.state = host, p.State
	return true
}

// presence handles a session's presence report.
func (s *session) presence(_ context.Context, env feed.Envelope) (any, error) {
	p, err := feed.DecodeData[feed.Presence](env)
	if err != nil || !feed.ValidPresenceState(p.State) {
		return nil, refuse(feed.CodeBadRequest, "presence state must be present, locked, asleep, idle or paused")
	}
	if s.hub.dir.setPresence(s, p) {
		s.hub.log.Debug("agent presence", "staff", s.staffID, "host", cleanHost(p.Host), "state", p.State)
		s.hub.pushDevices(s.staffID)
	}
	return nil, nil
}

// cleanHost keeps a computer's name, which the agent chose, to one short
// printable line: it is shown on the employee's other computers.
func cleanHost(h string) string {
	h = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, h)
	h = strings.TrimSpace(h)
	for len(h) > feed.MaxHostBytes {
		_, size := utf8.DecodeLastRuneInString(h)
		h = h[:len(h)-size]
	}
	if h == "" {
		return "another computer"
	}
	return h
}
