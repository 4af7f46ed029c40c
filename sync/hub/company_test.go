package hub

import (
	"slices"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/omnidesk"
)

// The company model on its own: what each update reports as changed, with
// no agent connected (it knows of none).

const (
	stOnline  = 1      // built-in, chat access
	stOffline = 2      // built-in, no chat access
	stChats   = 7      // custom, chat access by the config
	stLunch   = 120273 // custom, no chat access
)

func testCompany(t *testing.T, links map[string]string) *company {
	t.Helper()
	c := newCompany(FileConfig{ChatAccess: map[string]bool{"7": true}, Links: links}, nil)
	if _, changed := c.updateCatalogue([]omnidesk.StaffStatus{{ID: stOnline, Name: "Онлайн", Active: true},
		{ID: stOffline, Name: "Офлайн", Active: true}, {ID: stChats, Name: "Чаты", Active: true},
		{ID: stLunch, Name: "Обед", Active: true}}); !changed {
		t.Fatal("a first catalogue is a change")
	}
	return c
}

// A poll and a switch's confirmation (observeStatus) keep the same books:
// each case's statuses are read one second apart, the last one either by
// a poll or by a confirmation.
func TestCompanyStatusChanges(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	for _, tc := range []struct {
		name     string
		statuses []int64
		change   bool   // the last read is reported as a change
		from, to string // its names, for the history
		observed int    // index of the read whose time the status carries
		lost     int    // index of the read that saw chat access end; -1 none
	}{
		{name: "first sight is no change", statuses: []int64{stOnline}, observed: 0, lost: -1},
		{name: "the same status keeps its time", statuses: []int64{stOnline, stOnline}, observed: 0, lost: -1},
		{name: "access to access", statuses: []int64{stOnline, stChats}, change: true,
			from: "Онлайн", to: "Чаты", observed: 1, lost: -1},
		{name: "access ends", statuses: []int64{stChats, stLunch}, change: true,
			from: "Чаты", to: "Обед", observed: 1, lost: 1},
		{name: "still none keeps when it ended", statuses: []int64{stOnline, stOffline, stLunch}, change: true,
			from: "Офлайн", to: "Обед", observed: 2, lost: 1},
		{name: "access back", statuses: []int64{stOnline, stOffline, stOnline}, change: true,
			from: "Офлайн", to: "Онлайн", observed: 2, lost: -1},
		{name: "none since first sight: unknown when it ended", statuses: []int64{stOffline, stLunch}, change: true,
			from: "Офлайн", to: "Обед", observed: 1, lost: -1},
	} {
		for _, by := range []string{"poll", "confirmation"} {
			t.Run(tc.name+"/"+by, func(t *testing.T) {
				c := testCompany(t, nil)
				var ch staffChange
				var changed bool
				for i, st := range tc.statuses {
					last := i == len(tc.statuses)-1
					if last && i > 0 && by == "confirmation" {
						ch, changed = c.observeStatus(201, st, at(i))
						continue
					}
					changes, _ := c.updateStaff([]omnidesk.Staff{{ID: 201, Email: "anna@acme.test", StatusID: st}}, at(i), true)
					if len(changes) > 1 {
						t.Fatalf("read %d: %d changes for one staff member", i, len(changes))
					}
					ch, changed = staffChange{}, len(changes) == 1
					if changed {
						ch = changes[0]
					}
				}
				want := staffChange{}
				if tc.change {
					prev, last := tc.statuses[len(tc.statuses)-2], len(tc.statuses)-1
					want = staffChange{staffID: 201, fromID: prev, from: tc.from, toName: tc.to,
						change: feed.StatusChange{StatusID: tc.statuses[last], ObservedAt: at(last)}}
				}
				if changed != tc.change || ch != want {
					t.Errorf("change %v %+v, want %v %+v", changed, ch, tc.change, want)
				}
				e := c.staff[201]
				if !e.observedAt.Equal(at(tc.observed)) {
					t.Errorf("observed at %v, want %v", e.observedAt, at(tc.observed))
				}
				wantLost := time.Time{}
				if tc.lost >= 0 {
					wantLost = at(tc.lost)
				}
				if lost, _ := c.graceState(201, ""); !lost.Equal(wantLost) {
					t.Errorf("chat access lost at %v, want %v", lost, wantLost)
				}
			})
		}
	}
}

func TestCompanyObserveUnknownStaff(t *testing.T) {
	c := testCompany(t, nil)
	if ch, changed := c.observeStatus(999, stOnline, time.Unix(1000, 0)); changed {
		t.Fatalf("an unknown staff member changed: %+v", ch)
	}
}

func TestCompanyCatalogueChanges(t *testing.T) {
	c := testCompany(t, nil)
	same := []omnidesk.StaffStatus{{ID: stOnline, Name: "Онлайн", Active: true}, {ID: stOffline, Name: "Офлайн", Active: true},
		{ID: stChats, Name: "Чаты", Active: true}, {ID: stLunch, Name: "Обед", Active: true}}
	if _, changed := c.updateCatalogue(same); changed {
		t.Error("the same catalogue again is a change")
	}
	renamed := slices.Clone(same)
	renamed[3].Name, renamed[3].Active = "Перерыв", false
	cat, changed := c.updateCatalogue(renamed)
	if !changed || len(cat.Statuses) != 4 || cat.Statuses[3].Name != "Перерыв" || cat.Statuses[3].Active ||
		!cat.Statuses[2].ChatAccess || cat.Statuses[3].ChatAccess {
		t.Errorf("renamed: %v %+v", changed, cat)
	}
	if c.statusUsable(stLunch) || !c.statusUsable(stChats) || c.statusName(stLunch) != "Перерыв" {
		t.Error("the company reads the old catalogue")
	}
}

// Which staff an update reports as relinked: those whose operator, as the
// snapshot shows it, differs from before.
func TestCompanyRelinked(t *testing.T) {
	anna := omnidesk.Staff{ID: 201, Email: "anna@acme.test", StatusID: stOnline}
	boris := omnidesk.Staff{ID: 202, Email: "boris@acme.test", StatusID: stOnline}
	ops := []chaport.Operator{{ID: opAnna, Email: "anna@acme.test", Name: "Anna"},
		{ID: opBoris, Email: "boris@acme.test", Name: "Boris"}}
	renamed := slices.Clone(ops)
	renamed[1].Name = "Boris B."
	type update struct {
		staff    []omnidesk.Staff // a poll page, if set
		complete bool
		ops      []chaport.Operator // else an operator list
	}
	for _, tc := range []struct {
		name    string
		links   map[string]string
		before  []update
		update  update
		want    []int64
		wantOps map[int64]string // staff → operator name after the update
	}{
		{name: "nothing links before a whole poll", update: update{staff: []omnidesk.Staff{anna, boris}},
			before: []update{{ops: ops}}},
		{name: "a whole poll links by e-mail", update: update{staff: []omnidesk.Staff{anna, boris}, complete: true},
			before: []update{{ops: ops}}, want: []int64{201, 202}, wantOps: map[int64]string{201: "Anna", 202: "Boris"}},
		{name: "a later poll relinks nothing", update: update{staff: []omnidesk.Staff{anna, boris}, complete: true},
			before: []update{{ops: ops}, {staff: []omnidesk.Staff{anna, boris}, complete: true}}},
		{name: "a pinned link outlives its e-mail", update: update{staff: []omnidesk.Staff{anna, {ID: 202, Email: "anna@acme.test"}}, complete: true},
			before: []update{{ops: ops}, {staff: []omnidesk.Staff{anna, boris}, complete: true}}, wantOps: map[int64]string{202: "Boris"}},
		{name: "the operator list names a configured link", links: map[string]string{"201": opAnna},
			before: []update{{staff: []omnidesk.Staff{anna}, complete: true}}, update: update{ops: ops},
			want: []int64{201}, wantOps: map[int64]string{201: "Anna"}},
		{name: "the same operator list again", update: update{ops: ops},
			before: []update{{ops: ops}, {staff: []omnidesk.Staff{anna, boris}, complete: true}}},
		{name: "an operator renamed", update: update{ops: renamed},
			before: []update{{ops: ops}, {staff: []omnidesk.Staff{anna, boris}, complete: true}},
			want:   []int64{202}, wantOps: map[int64]string{202: "Boris B."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCompany(t, tc.links)
			apply := func(u update) (relinked []int64) {
				if u.staff != nil {
					_, relinked = c.updateStaff(u.staff, time.Unix(1000, 0), u.complete)
					return relinked
				}
				return c.updateOperators(u.ops)
			}
			for _, u := range tc.before {
				apply(u)
			}
			got := apply(tc.update)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("relinked %v, want %v", got, tc.want)
			}
			for staff, name := range tc.wantOps {
				if op, ok := c.operator(staff); !ok || op.Name != name {
					t.Errorf("staff %d: operator %+v, %v; want %q", staff, op, ok, name)
				}
			}
		})
	}
}
