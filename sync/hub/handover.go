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
	return handover.New(h.cfg.File.Chats, handover.Env{Chaport: h.cfg.Chaport, Audience: chatAudience{h.dir},
		Clock: h.clock, Log: h.log, MaxFrameBytes: h.cfg.Feed.MaxFrameBytes, Hook: h.chatHook})
}

// chatAudience is the hub's connected agents as the watcher sees them.
type chatAudience struct{ dir *directory }

func (a chatAudience) Ready() bool {
	ready, _, _ := a.dir.isReady()
	return ready
}

func (a chatAudience) OfOperator(operatorID string) []handover.Recipient {
	return chatRecipients(a.dir.sessionsOfOperator(operatorID))
}

func (a chatAudience) WithChatAccess() []handover.Recipient {
	return chatRecipients(a.dir.sessionsWithChatAccess())
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
