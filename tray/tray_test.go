package tray

import (
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/assets"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

var now = time.Date(2026, 11, 25, 14, 2, 11, 0, time.UTC)

var statuses = []feed.Status{
	{ID: 1, Name: "Online", ChatAccess: true, Active: true},
	{ID: 2, Name: "Offline", Active: true},
	{ID: 120273, Name: "Lunch", Active: true},
	{ID: 99, Name: "Retired", Active: false},
}

func connected(status int64, name string) agent.State {
	return agent.State{Connection: agent.Connected, Statuses: statuses, StatusID: status, StatusName: name,
		OmnideskURL: "https://acme.omnidesk.ru"}
}

func TestRender(t *testing.T) {
	online := connected(1, "Online")
	online.Action, online.Reason = rules.KeepOnline.String(), "Omnidesk: Online — chat access → Chaport online"
	online.Chaport, online.LeaseExpires = "online", now.Add(time.Minute)

	lunch := connected(120273, "Lunch")
	lunch.Action, lunch.OfflineAt, lunch.Chaport = rules.GoOfflineAt.String(), now.Add(161*time.Second), "online"

	offline := connected(2, "Offline")
	offline.Action, offline.Chaport, offline.Reason = rules.GoOfflineAt.String(), "offline", "Omnidesk: Offline — no chat access → Chaport offline"

	lost := online
	lost.Connection = agent.Disconnected

	failing := online
	failing.LastError = "Chaport online: hub refused: Chaport could not be reached"

	paused := online
	paused.Paused = true
	paused.Action, paused.Reason = rules.Hold.String(), "Sync paused — Omnitray changes nothing in Chaport; its online lease ends at …"
	pausedLapsed := paused
	pausedLapsed.LeaseLapsed = true // the agent says so when the lease ends
	stayed := lunch
	stayed.OfflineAt, stayed.StayOnlineUntil = now.Add(5*time.Minute), now.Add(5*time.Minute)

	for _, tc := range []struct {
		name     string
		s        agent.State
		signedIn bool
		icon     string
		header   string
		ticking  bool
		stay     bool
	}{
		{"online", online, true, assets.IconOnline, "chat access → Chaport online", false, false},
		{"going offline", lunch, true, assets.IconGoingOffline, "Omnidesk: Lunch — no chat access → Chaport offline in 2:41", true, true},
		{"offline", offline, true, assets.IconOffline, "Chaport offline", false, false},
		{"hub lost", lost, true, assets.IconUnknown, "status unknown", false, false},
		{"write failing", failing, true, assets.IconError, "Chaport online", false, false},
		{"paused, lease live", paused, true, assets.IconOnline, "Sync paused", false, false},
		{"paused, lease ended", pausedLapsed, true, assets.IconOffline, "Sync paused", false, false},
		{"stay online requested", stayed, true, assets.IconGoingOffline, "offline in 5:00 (stay online requested)", true, true},
		{"signed out", agent.State{}, false, assets.IconSignedOut, "Sign in", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := render(tc.s, tc.signedIn, now)
			if v.Icon != tc.icon || !strings.Contains(v.Header, tc.header) || v.Ticking != tc.ticking || v.StayOnline != tc.stay {
				t.Fatalf("got %+v", v)
			}
			if tc.signedIn && !strings.Contains(v.Tooltip, v.Header) {
				t.Fatalf("tooltip %q lacks the why line", v.Tooltip)
			}
		})
	}
	v := render(online, true, now)
	if len(v.Statuses) != 3 || !v.Statuses[0].Checked || v.Statuses[0].Label != "Online · chats" || v.Statuses[2].Label != "Lunch" {
		t.Fatalf("statuses %+v (inactive ones must be left out, chat ones marked)", v.Statuses)
	}
	if !strings.Contains(v.Chaport, "online · lease until") {
		t.Fatalf("chaport line %q", v.Chaport)
	}
	withChats := online
	withChats.RecentChats = []agent.RecentChat{
		{VisitorName: "Maria", BotName: "Helper Bot", At: now.Add(-3 * time.Minute), URL: "https://c/1"},
		{VisitorName: "Ivan", BotName: "Helper Bot", At: now.Add(-20 * time.Second), URL: "https://c/2"},
	}
	if r := render(withChats, true, now).Recent; len(r) != 2 || r[0].Label != "Maria — Helper Bot · 3 min ago" ||
		r[1].Label != "Ivan — Helper Bot · just now" || r[1].URL != "https://c/2" {
		t.Fatalf("recent %+v", r)
	}
	if render(failing, true, now).Tooltip == render(online, true, now).Tooltip {
		t.Fatal("the error does not show in the tooltip")
	}
}

type fakeItem struct {
	title   string
	visible bool
	checked bool
	enabled bool
	calls   int
	ch      chan struct{}
}

func (f *fakeItem) SetTitle(s string)        { f.title = s; f.calls++ }
func (f *fakeItem) Show()                    { f.visible = true; f.calls++ }
func (f *fakeItem) Hide()                    { f.visible = false; f.calls++ }
func (f *fakeItem) Check()                   { f.checked = true; f.calls++ }
func (f *fakeItem) Uncheck()                 { f.checked = false; f.calls++ }
func (f *fakeItem) Enable()                  { f.enabled = true; f.calls++ }
func (f *fakeItem) Disable()                 { f.enabled = false; f.calls++ }
func (f *fakeItem) Clicked() <-chan struct{} { return f.ch }

type fakeBuilder struct{ items []*fakeItem }

func (b *fakeBuilder) Add(title string, checkbox bool) item {
	it := &fakeItem{title: title, visible: true, enabled: true, ch: make(chan struct{})}
	b.items = append(b.items, it)
	return it
}
func (b *fakeBuilder) Separator() {}

func TestApplyChangesOnlyWhatDiffers(t *testing.T) {
	b := &fakeBuilder{}
	m := buildMenu(b)
	var sh shown
	icons := 0
	setIcon := func(string) { icons++ }
	online := connected(1, "Online")
	online.Action = rules.KeepOnline.String()
	sh.apply(m, render(online, true, now), setIcon, func(string) {})
	if icons != 1 || !m.statuses[0].(*fakeItem).checked || m.statuses[3].(*fakeItem).visible {
		t.Fatalf("first apply: icons %d, items %+v %+v", icons, m.statuses[0], m.statuses[3])
	}
	before := 0
	for _, it := range b.items {
		before += it.calls
	}
	sh.apply(m, render(online, true, now), setIcon, func(string) {})
	after := 0
	for _, it := range b.items {
		after += it.calls
	}
	if icons != 1 || after != before {
		t.Fatalf("re-applying the same view made %d item calls and %d icon sets", after-before, icons-1)
	}
	lunch := connected(120273, "Lunch")
	lunch.Action, lunch.OfflineAt = rules.GoOfflineAt.String(), now.Add(time.Minute)
	sh.apply(m, render(lunch, true, now), setIcon, func(string) {})
	if icons != 2 || m.statuses[0].(*fakeItem).checked || !m.statuses[2].(*fakeItem).checked || !m.stay.(*fakeItem).visible {
		t.Fatal("switching to Lunch did not move the check and show Stay online")
	}
	sh.apply(m, render(agent.State{}, false, now), setIcon, func(string) {})
	if m.sign.(*fakeItem).title != "Sign in…" || m.statuses[0].(*fakeItem).visible {
		t.Fatal("signed-out menu still shows statuses or Sign out")
	}
}

// TestLapsedLeaseLine: once the agent says the lease ended, the menu stops
// showing "lease until", whatever the tray's own clock says.
func TestLapsedLeaseLine(t *testing.T) {
	s := connected(1, "Online")
	s.Paused, s.Chaport, s.LeaseExpires = true, "online", now.Add(time.Second)
	if got := render(s, true, now).Chaport; !strings.Contains(got, "lease until") {
		t.Fatalf("live lease: %q", got)
	}
	s.LeaseLapsed = true
	if got := render(s, true, now).Chaport; strings.Contains(got, "lease until") || !strings.Contains(got, "lapsed") {
		t.Fatalf("ended lease: %q", got)
	}
}
