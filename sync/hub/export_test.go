package hub

import (
	"time"

	"github.com/omnitray/omnitray/sync/handover"
)

// ChatPollStats is one chat poll's outcome, for the external tests.
type ChatPollStats = handover.PollStats

// SetChatHook makes h report each chat poll to f; call it before Run.
func SetChatHook(h *Hub, f func(ChatPollStats)) { h.chatHook = f }

// PaceInterval is the pacer's current spacing between Omnidesk calls.
func PaceInterval(h *Hub) time.Duration { return h.pace.interval() }
