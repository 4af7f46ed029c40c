package agent

import (
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/history"
)

// The day's online time counts on from the hub's answer while the operator
// is still online, to the minute, and a new day starts from nothing.
func TestHistoryViewFill(t *testing.T) {
	asOf := time.Date(2026, 12, 2, 14, 0, 0, 0, time.Local)
	h := historyView{readAt: asOf, today: feed.Today{OnlineSeconds: 3 * 3600, OnlineNow: true, AsOf: asOf,
		Recent: []history.Entry{{Kind: history.KindChaport, To: "online"}}}}
	var s State
	h.fill(&s, asOf.Add(12*time.Minute+30*time.Second))
	if s.OnlineToday != 3*time.Hour+12*time.Minute || len(s.Changes) != 1 {
		t.Fatalf("online %v, %d changes", s.OnlineToday, len(s.Changes))
	}
	if got := FormatOnline(s.OnlineToday); got != "3h 12m" {
		t.Fatalf("formatted %q", got)
	}
	h.today.OnlineNow = false
	s = State{}
	h.fill(&s, asOf.Add(time.Hour))
	if s.OnlineToday != 3*time.Hour {
		t.Fatalf("offline since the answer, yet %v", s.OnlineToday)
	}
	s = State{}
	h.fill(&s, asOf.Add(12*time.Hour)) // the next day
	if s.OnlineToday != 0 || s.Changes != nil {
		t.Fatalf("yesterday's figures shown today: %+v", s)
	}
}
