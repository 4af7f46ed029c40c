package agent

import (
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
)

// advanceUntil moves the fake clock in steps until cond holds: the notifier
// arms its timer when it sees an event, which the test cannot observe.
func (h *harness) advanceUntil(step time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("never: %s", what)
		}
		h.clock.Advance(step)
		time.Sleep(5 * time.Millisecond)
	}
}

func TestChatURLEscapesIDs(t *testing.T) {
	got := ChatURL("https://x.test/c/{visitor_id}/{chat_id}", feed.ChatEvent{VisitorID: "../a?b#c", ChatID: 5})
	if got != "https://x.test/c/..%2Fa%3Fb%23c/5" {
		t.Fatal(got)
	}
}
