package hub

import (
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/handover"
)

// The chat hand-over watcher (sync/handover) runs beside the pollers. The
// hub gives it its Chaport client, clock and log, and its connected agents
// as the audience: it routes through the directory and pushes on sessions.

// newChatWatcher wires the watcher to the hub; Run starts it when the
// "chats" section leaves it on.
func (h *Hub) newChatWatcher() *handover.Watcher {
	return handover.New(h.cfg.File.Chats, handover.Env{Chaport: h.cfg.Chaport, Audience: chatAudience{h},
		Clock: h.clock, Log: h.log, MaxFrameBytes: h.cfg.Feed.MaxFrameBytes, Hook: h.chatHook})
}

// chatAudience is the hub's connected agents as the watcher sees them,
// with those other replicas hold (remotedevices.go).
type chatAudience struct{ h *Hub }

func (a chatAudience) Ready() bool {
	ready, _, _ := a.h.dir.isReady()
	return ready
}

func (a chatAudience) OfOperator(operatorID string) []handover.Recipient {
	d := a.h.dir
	to := chatRecipients(d.sessionsOfOperator(operatorID))
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.remoteRecipients(a.h, func(staffID int64) bool {
		op, ok := d.co.operator(staffID)
		return ok && op.ID == operatorID
	}) {
		to = append(to, r)
	}
	return to
}

func (a chatAudience) WithChatAccess() []handover.Recipient {
	d := a.h.dir
	to := chatRecipients(d.sessionsWithChatAccess())
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.remoteRecipients(a.h, func(staffID int64) bool {
		_, access, _ := d.co.current(staffID)
		return access
	}) {
		to = append(to, r)
	}
	return to
}

// chatRecipient is a session as the watcher pushes to it.
type chatRecipient session

func (r *chatRecipient) Send(env feed.Envelope) { (*session)(r).send(env) }

func chatRecipients(ss []*session) []handover.Recipient {
	out := make([]handover.Recipient, len(ss))
	for i, s := range ss {
		out[i] = (*chatRecipient)(s)
	}
	return out
}
