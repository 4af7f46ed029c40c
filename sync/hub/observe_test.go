package hub

import (
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/omnidesk"
)

// A confirmed switch updates the directory as a poll would: the change is
// reported once (the next poll that sees the same status pushes nothing),
// and chat access bookkeeping follows, so grace sees when access ended.
func TestObserveStatusIsAPoll(t *testing.T) {
	t0 := time.Unix(1000, 0)
	d := newDirectory(FileConfig{}, nil)
	d.updateCatalogue([]omnidesk.StaffStatus{{ID: 1, Name: "Онлайн", Active: true}, {ID: 2, Name: "Офлайн", Active: true},
		{ID: 120273, Name: "Обед", Active: true}})
	d.updateStaff([]omnidesk.Staff{{ID: 201, Email: "anna@acme.test", StatusID: 1}}, t0, true, "")
	s := &session{staffID: 201}
	if joined, _, _ := d.join(201, s, 8, "", func(feed.Snapshot) error { return nil }); !joined {
		t.Fatal("join failed")
	}

	t1 := t0.Add(time.Second)
	to, change, _, changed := d.observeStatus(201, 120273, t1)
	if !changed || len(to) != 1 || to[0] != s || change.StatusID != 120273 || !change.ObservedAt.Equal(t1) {
		t.Fatalf("observeStatus: %v %+v %v; want a change for the one session", to, change, changed)
	}
	if lost, _ := d.graceState(201, ""); !lost.Equal(t1) {
		t.Fatalf("chat access lost at %v, want %v", lost, t1)
	}
	if _, _, _, again := d.observeStatus(201, 120273, t1.Add(time.Second)); again {
		t.Fatal("the same status reported twice")
	}
	if changes, _ := d.updateStaff([]omnidesk.Staff{{ID: 201, Email: "anna@acme.test", StatusID: 120273}}, t1.Add(2*time.Second), true, ""); len(changes) != 0 {
		t.Fatalf("the next poll pushed %+v again", changes)
	}
	if _, _, _, ok := d.observeStatus(999, 1, t1); ok {
		t.Fatal("an unknown staff member reported")
	}
	d.observeStatus(201, 1, t1.Add(3*time.Second))
	if lost, _ := d.graceState(201, ""); !lost.IsZero() {
		t.Fatalf("chat access back, but lost at %v", lost)
	}
}
