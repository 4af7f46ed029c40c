package hub

import (
	"log/slog"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/history"
)

func TestRecorder(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	fc := clock.NewFake(t0)
	store := history.NewMemory(100)
	r := newRecorder(store, fc, slog.New(slog.DiscardHandler))

	r.wrote(7, "online", fc.Now(), t0.Add(30*time.Second), feed.Why{Cause: "rule", Reason: "chat access"}, "desk")
	fc.Advance(10 * time.Second)
	r.wrote(7, "online", fc.Now(), t0.Add(40*time.Second), feed.Why{Cause: "rule"}, "desk") // a renewal
	r.sweep(t0.Add(39 * time.Second))                                                       // still live
	r.sweep(t0.Add(41 * time.Second))                                                       // lapsed at 40 s
	r.sweep(t0.Add(50 * time.Second))                                                       // told once

	r.omnidesk(7, "Онлайн", "Обед", t0.Add(55*time.Second), "laptop")
	r.omnidesk(7, "Обед", "Онлайн", t0.Add(60*time.Second), "") // not a switch from Omnitray

	got, _, _ := store.Query(7, time.Time{}, 100)
	want := []history.Entry{
		{At: t0, Staff: 7, Kind: "chaport", To: "online", Cause: "rule", Reason: "chat access", Host: "desk"},
		{At: t0.Add(40 * time.Second), Staff: 7, Kind: "chaport", From: "online", To: "offline", Cause: "lease_lapsed",
			Reason: "the online lease lapsed: no computer renewed it"},
		{At: t0.Add(55 * time.Second), Staff: 7, Kind: "omnidesk", From: "Онлайн", To: "Обед", Cause: "switch",
			Reason: "switched from Omnitray on laptop", Host: "laptop"},
		{At: t0.Add(60 * time.Second), Staff: 7, Kind: "omnidesk", From: "Обед", To: "Онлайн", Cause: "omnidesk",
			Reason: "changed in Omnidesk"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
