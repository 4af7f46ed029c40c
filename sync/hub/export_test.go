package hub

import (
	"context"
	"time"

	"github.com/omnitray/omnitray/sync/handover"
)

// ChatPollStats is one chat poll's outcome, for the external tests.
type ChatPollStats = handover.PollStats

// SetChatHook makes h report each chat poll to f; call it before Run.
func SetChatHook(h *Hub, f func(ChatPollStats)) { h.chatHook = f }

// PaceInterval is the pacer's current spacing between Omnidesk calls.
func PaceInterval(h *Hub) time.Duration { return h.pace.interval() }

// PollStaff reads Omnidesk's staff list once, as the hub's poller does.
func PollStaff(ctx context.Context, h *Hub) error { return h.pollStaff(ctx) }

// KnowsStaff reports whether h's directory holds staff.
func KnowsStaff(h *Hub, staff int64) bool {
	_, _, known := h.dir.current(staff)
	return known
}

// OmnideskCalls counts the Omnidesk calls h made.
func OmnideskCalls(h *Hub) int64 { return h.omnideskCalls.Load() }

// Fence is the check h makes before each Omnidesk call.
func Fence(h *Hub) error { return h.rep.fence() }
