package rules_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/rules"
)

// t0 is a fixed "now"; nothing here reads the clock.
var t0 = time.Date(2025, 11, 25, 14, 10, 0, 0, time.UTC)

// Custom status ids as an Omnidesk account might have them.
const (
	idChatting int64 = 10 // custom, configured with chat access
	idLunch    int64 = 11 // custom, no chat access
	idUnknown  int64 = 42 // in neither Omnidesk's list nor the config
)

func catalogue() rules.Catalogue {
	return rules.BuildCatalogue(
		map[int64]string{
			rules.StatusOnline:       "Online",
			rules.StatusOffline:      "Offline",
			rules.StatusWithoutChats: "Without chats",
			idChatting:               "Chatting",
			idLunch:                  "Lunch",
		},
		map[int64]bool{idChatting: true, idLunch: false},
	)
}

// misconfigured claims access for the built-ins that must never have it and
// denies it to the one that always has it, under custom names.
func misconfigured() rules.Catalogue {
	return rules.BuildCatalogue(
		map[int64]string{
			rules.StatusOnline:       "At work",
			rules.StatusOffline:      "Gone",
			rules.StatusWithoutChats: "Phones only",
		},
		map[int64]bool{
			rules.StatusOnline:       false,
			rules.StatusOffline:      true,
			rules.StatusWithoutChats: true,
		},
	)
}

// in returns a known, unpaused, present input for status id with a 3m grace;
// cases override what they are about.
func in(id int64, edit ...func(*rules.Input)) rules.Input {
	i := rules.Input{
		Now:       t0,
		Known:     true,
		StatusID:  id,
		Catalogue: catalogue(),
		Grace:     3 * time.Minute,
	}
	for _, e := range edit {
		e(&i)
	}
	return i
}

func unknown(i *rules.Input) { i.Known = false }
func paused(i *rules.Input)  { i.Paused = true }
func locked(i *rules.Input)  { i.Presence.Locked = true }
func asleep(i *rules.Input)  { i.Presence.Asleep = true }
func idle(i *rules.Input)    { i.Presence.Idle = true }

func since(d time.Duration) func(*rules.Input) {
	return func(i *rules.Input) { i.NoAccessSince = t0.Add(-d) }
}

func stayUntil(d time.Duration) func(*rules.Input) {
	return func(i *rules.Input) { i.StayOnlineUntil = t0.Add(d) }
}

func grace(d time.Duration) func(*rules.Input) {
	return func(i *rules.Input) { i.Grace = d }
}

func cat(c rules.Catalogue) func(*rules.Input) {
	return func(i *rules.Input) { i.Catalogue = c }
}

const (
	reasonUnknown = "Omnidesk status unknown (hub unreachable) — Chaport lease lapses on its own"
	reasonPaused  = "Sync paused — Omnitray changes nothing in Chaport"
	reasonAsleep  = "Computer asleep → Chaport offline"
	reasonLocked  = "Screen locked → Chaport offline"
	reasonIdle    = "Idle at the computer → Chaport offline"
)

func hold(reason string) rules.Decision { return rules.Decision{Action: rules.Hold, Reason: reason} }
func online(reason string) rules.Decision {
	return rules.Decision{Action: rules.KeepOnline, Reason: reason}
}
func offlineAt(at time.Time, reason string) rules.Decision {
	return rules.Decision{Action: rules.GoOfflineAt, At: at, Reason: reason}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name string
		in   rules.Input
		want rules.Decision
	}{
		// Priority: unknown > paused > presence > mapping.
		{"unknown", in(rules.StatusOnline, unknown), hold(reasonUnknown)},
		{"unknown beats paused", in(rules.StatusOnline, unknown, paused), hold(reasonUnknown)},
		{"unknown beats presence", in(rules.StatusOnline, unknown, locked), hold(reasonUnknown)},
		{"unknown beats no access", in(idLunch, unknown, since(time.Hour)), hold(reasonUnknown)},
		{"unknown beats everything", in(idLunch, unknown, paused, asleep, locked, idle, since(time.Hour), stayUntil(time.Minute)), hold(reasonUnknown)},
		{"unknown with zero input", rules.Input{}, hold(reasonUnknown)},
		{"paused with access", in(rules.StatusOnline, paused), hold(reasonPaused)},
		{"paused without access", in(rules.StatusOffline, paused, since(time.Hour)), hold(reasonPaused)},
		{"paused beats presence", in(rules.StatusOnline, paused, asleep, locked, idle), hold(reasonPaused)},
		{"paused beats stay online", in(idLunch, paused, stayUntil(time.Hour)), hold(reasonPaused)},
		{"asleep beats access", in(rules.StatusOnline, asleep), offlineAt(t0, reasonAsleep)},
		{"locked beats access", in(rules.StatusOnline, locked), offlineAt(t0, reasonLocked)},
		{"idle beats access", in(rules.StatusOnline, idle), offlineAt(t0, reasonIdle)},
		{"custom access, locked", in(idChatting, locked), offlineAt(t0, reasonLocked)},
		{"asleep named over locked and idle", in(rules.StatusOnline, asleep, locked, idle), offlineAt(t0, reasonAsleep)},
		{"locked named over idle", in(rules.StatusOnline, locked, idle), offlineAt(t0, reasonLocked)},
		{"locked skips the grace", in(idLunch, locked), offlineAt(t0, reasonLocked)},
		{"locked skips a grace under way", in(idLunch, locked, since(time.Minute)), offlineAt(t0, reasonLocked)},
		{"locked beats stay online", in(idLunch, locked, stayUntil(time.Hour)), offlineAt(t0, reasonLocked)},
		{"idle beats stay online with access", in(rules.StatusOnline, idle, stayUntil(time.Hour)), offlineAt(t0, reasonIdle)},

		// Built-ins are fixed whatever the catalogue says.
		{"1 online", in(rules.StatusOnline), online("Omnidesk: Online — chat access → Chaport online")},
		{"1 with nil catalogue", in(rules.StatusOnline, cat(nil)), online("Omnidesk: Online — chat access → Chaport online")},
		{"1 configured without access", in(rules.StatusOnline, cat(misconfigured())), online("Omnidesk: At work — chat access → Chaport online")},
		{"2 offline", in(rules.StatusOffline), offlineAt(t0.Add(3*time.Minute), "Omnidesk: Offline — no chat access → Chaport offline in 3m0s")},
		{"2 with nil catalogue", in(rules.StatusOffline, cat(nil)), offlineAt(t0.Add(3*time.Minute), "Omnidesk: Offline — no chat access → Chaport offline in 3m0s")},
		{"2 configured with access", in(rules.StatusOffline, cat(misconfigured())), offlineAt(t0.Add(3*time.Minute), "Omnidesk: Gone — no chat access → Chaport offline in 3m0s")},
		{"3 without chats", in(rules.StatusWithoutChats), offlineAt(t0.Add(3*time.Minute), "Omnidesk: Without chats — no chat access → Chaport offline in 3m0s")},
		{"3 with nil catalogue", in(rules.StatusWithoutChats, cat(nil)), offlineAt(t0.Add(3*time.Minute), "Omnidesk: Without chats — no chat access → Chaport offline in 3m0s")},
		{"3 configured with access", in(rules.StatusWithoutChats, cat(misconfigured())), offlineAt(t0.Add(3*time.Minute), "Omnidesk: Phones only — no chat access → Chaport offline in 3m0s")},

		// Custom and unknown statuses.
		{"custom with access", in(idChatting), online("Omnidesk: Chatting — chat access → Chaport online")},
		{"custom without access", in(idLunch), offlineAt(t0.Add(3*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline in 3m0s")},
		{"unknown id", in(idUnknown), offlineAt(t0.Add(3*time.Minute), "Omnidesk: status #42 — no chat access → Chaport offline in 3m0s")},
		{"unknown id, nil catalogue", in(idUnknown, cat(nil)), offlineAt(t0.Add(3*time.Minute), "Omnidesk: status #42 — no chat access → Chaport offline in 3m0s")},
		{"custom with access, nil catalogue", in(idChatting, cat(nil)), offlineAt(t0.Add(3*time.Minute), "Omnidesk: status #10 — no chat access → Chaport offline in 3m0s")},
		{"status 0", in(0), offlineAt(t0.Add(3*time.Minute), "Omnidesk: status #0 — no chat access → Chaport offline in 3m0s")},
		{"negative id", in(-5), offlineAt(t0.Add(3*time.Minute), "Omnidesk: status #-5 — no chat access → Chaport offline in 3m0s")},
		{"access ignores no-access bookkeeping", in(idChatting, since(time.Hour), stayUntil(time.Hour)), online("Omnidesk: Chatting — chat access → Chaport online")},
		{"name with control characters", in(idLunch, cat(rules.Catalogue{idLunch: {ID: idLunch, Name: " Lunch\n\tbreak\x00 "}})), offlineAt(t0.Add(3*time.Minute), "Omnidesk: Lunch break — no chat access → Chaport offline in 3m0s")},
		{"blank name falls back", in(idLunch, cat(rules.Catalogue{idLunch: {ID: idLunch, Name: " \n "}})), offlineAt(t0.Add(3*time.Minute), "Omnidesk: status #11 — no chat access → Chaport offline in 3m0s")},

		// Grace countdown.
		{"NoAccessSince zero counts from now", in(idLunch), offlineAt(t0.Add(3*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline in 3m0s")},
		{"grace under way", in(idLunch, since(19*time.Second)), offlineAt(t0.Add(2*time.Minute+41*time.Second), "Omnidesk: Lunch — no chat access → Chaport offline in 2m41s")},
		{"countdown rounds up to whole seconds", in(idLunch, since(19*time.Second+800*time.Millisecond)), offlineAt(t0.Add(2*time.Minute+40200*time.Millisecond), "Omnidesk: Lunch — no chat access → Chaport offline in 2m41s")},
		{"last fraction of a second still pending", in(idLunch, since(3*time.Minute-time.Millisecond)), offlineAt(t0.Add(time.Millisecond), "Omnidesk: Lunch — no chat access → Chaport offline in 1s")},
		{"grace exactly reached", in(idLunch, since(3*time.Minute)), offlineAt(t0, "Omnidesk: Lunch — no chat access → Chaport offline")},
		{"grace long past", in(idLunch, since(time.Hour)), offlineAt(t0.Add(-57*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline")},
		{"zero grace means default", in(idLunch, grace(0)), offlineAt(t0.Add(rules.DefaultGrace), "Omnidesk: Lunch — no chat access → Chaport offline in 3m0s")},
		{"negative grace means default", in(idLunch, grace(-time.Minute)), offlineAt(t0.Add(rules.DefaultGrace), "Omnidesk: Lunch — no chat access → Chaport offline in 3m0s")},
		{"one-second grace", in(idLunch, grace(time.Second)), offlineAt(t0.Add(time.Second), "Omnidesk: Lunch — no chat access → Chaport offline in 1s")},
		{"long grace", in(idLunch, grace(90*time.Minute), since(time.Minute)), offlineAt(t0.Add(89*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline in 1h29m0s")},
		{"NoAccessSince in the future counts from now", in(idLunch, since(-time.Hour)), offlineAt(t0.Add(3*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline in 3m0s")},

		// Stay online.
		{"stay online earlier than grace end", in(idLunch, since(time.Minute), stayUntil(time.Minute)), offlineAt(t0.Add(2*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline in 2m0s")},
		{"stay online equal to grace end", in(idLunch, since(time.Minute), stayUntil(2*time.Minute)), offlineAt(t0.Add(2*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline in 2m0s")},
		{"stay online later than grace end", in(idLunch, since(time.Minute), stayUntil(5*time.Minute)), offlineAt(t0.Add(5*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline in 5m0s (stay online requested)")},
		{"stay online with NoAccessSince zero", in(idLunch, stayUntil(5*time.Minute)), offlineAt(t0.Add(5*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline in 5m0s (stay online requested)")},
		{"stay online after grace expired", in(idLunch, since(time.Hour), stayUntil(2*time.Minute)), offlineAt(t0.Add(2*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline in 2m0s (stay online requested)")},
		{"stay online already over, grace pending", in(idLunch, since(time.Minute), stayUntil(-time.Minute)), offlineAt(t0.Add(2*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline in 2m0s")},
		{"stay online over, after grace end", in(idLunch, since(time.Hour), stayUntil(-time.Minute)), offlineAt(t0.Add(-time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline")},
		{"stay online ends exactly now", in(idLunch, since(time.Hour), stayUntil(0)), offlineAt(t0, "Omnidesk: Lunch — no chat access → Chaport offline")},
		{"stay online on a built-in", in(rules.StatusOffline, since(30*time.Second), stayUntil(10*time.Minute)), offlineAt(t0.Add(10*time.Minute), "Omnidesk: Offline — no chat access → Chaport offline in 10m0s (stay online requested)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rules.Decide(tt.in)
			if got.Action != tt.want.Action || !got.At.Equal(tt.want.At) || got.Reason != tt.want.Reason {
				t.Errorf("Decide() =\n  %v %v %q\nwant\n  %v %v %q",
					got.Action, got.At, got.Reason, tt.want.Action, tt.want.At, tt.want.Reason)
			}
		})
	}
}

// TestDecidePriority walks every combination of the switches that compete
// for priority, so that no pairing is left to a hand-written row.
func TestDecidePriority(t *testing.T) {
	for mask := range 1 << 6 {
		bit := func(n int) bool { return mask&(1<<n) != 0 }
		i := in(idLunch, since(time.Minute), stayUntil(time.Hour))
		i.Known = bit(0)
		i.Paused = bit(1)
		i.Presence = rules.Presence{Asleep: bit(2), Locked: bit(3), Idle: bit(4)}
		if bit(5) {
			i.StatusID = idChatting
		}
		name := fmt.Sprintf("known=%v paused=%v asleep=%v locked=%v idle=%v access=%v",
			bit(0), bit(1), bit(2), bit(3), bit(4), bit(5))

		var want rules.Decision
		switch {
		case !i.Known:
			want = hold(reasonUnknown)
		case i.Paused:
			want = hold(reasonPaused)
		case i.Presence.Asleep:
			want = offlineAt(t0, reasonAsleep)
		case i.Presence.Locked:
			want = offlineAt(t0, reasonLocked)
		case i.Presence.Idle:
			want = offlineAt(t0, reasonIdle)
		case bit(5):
			want = online("Omnidesk: Chatting — chat access → Chaport online")
		default:
			want = offlineAt(t0.Add(time.Hour), "Omnidesk: Lunch — no chat access → Chaport offline in 1h0m0s (stay online requested)")
		}
		got := rules.Decide(i)
		if got.Action != want.Action || !got.At.Equal(want.At) || got.Reason != want.Reason {
			t.Errorf("%s: Decide() = %v %v %q, want %v %v %q",
				name, got.Action, got.At, got.Reason, want.Action, want.At, want.Reason)
		}
	}
}

// TestDecideDoesNotTouchCatalogue guards the hub, which shares one catalogue
// among many concurrent Decide calls.
func TestDecideDoesNotTouchCatalogue(t *testing.T) {
	c := catalogue()
	before := maps.Clone(c)
	for _, id := range []int64{rules.StatusOnline, rules.StatusOffline, idChatting, idLunch, idUnknown} {
		rules.Decide(in(id, cat(c)))
	}
	if !maps.Equal(c, before) {
		t.Errorf("catalogue changed: %v, was %v", c, before)
	}
}

func TestCatalogueChatAccess(t *testing.T) {
	tests := []struct {
		name string
		c    rules.Catalogue
		id   int64
		want bool
	}{
		{"1 in catalogue", catalogue(), rules.StatusOnline, true},
		{"1 nil catalogue", nil, rules.StatusOnline, true},
		{"1 configured without access", misconfigured(), rules.StatusOnline, true},
		{"1 raw entry without access", rules.Catalogue{1: {ID: 1}}, rules.StatusOnline, true},
		{"2 in catalogue", catalogue(), rules.StatusOffline, false},
		{"2 nil catalogue", nil, rules.StatusOffline, false},
		{"2 configured with access", misconfigured(), rules.StatusOffline, false},
		{"2 raw entry with access", rules.Catalogue{2: {ID: 2, ChatAccess: true}}, rules.StatusOffline, false},
		{"3 in catalogue", catalogue(), rules.StatusWithoutChats, false},
		{"3 nil catalogue", nil, rules.StatusWithoutChats, false},
		{"3 configured with access", misconfigured(), rules.StatusWithoutChats, false},
		{"3 raw entry with access", rules.Catalogue{3: {ID: 3, ChatAccess: true}}, rules.StatusWithoutChats, false},
		{"custom with access", catalogue(), idChatting, true},
		{"custom without access", catalogue(), idLunch, false},
		{"unknown id", catalogue(), idUnknown, false},
		{"unknown id nil catalogue", nil, idUnknown, false},
		{"zero id", catalogue(), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.ChatAccess(tt.id); got != tt.want {
				t.Errorf("ChatAccess(%d) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestCatalogueName(t *testing.T) {
	tests := []struct {
		name string
		c    rules.Catalogue
		id   int64
		want string
	}{
		{"1 fallback", nil, rules.StatusOnline, "Online"},
		{"2 fallback", nil, rules.StatusOffline, "Offline"},
		{"3 fallback", nil, rules.StatusWithoutChats, "Without chats"},
		{"1 renamed", misconfigured(), rules.StatusOnline, "At work"},
		{"2 renamed", misconfigured(), rules.StatusOffline, "Gone"},
		{"3 renamed", misconfigured(), rules.StatusWithoutChats, "Phones only"},
		{"1 empty name", rules.Catalogue{1: {ID: 1}}, rules.StatusOnline, "Online"},
		{"custom", catalogue(), idLunch, "Lunch"},
		{"custom non-ASCII", rules.Catalogue{7: {ID: 7, Name: "Обед"}}, 7, "Обед"},
		{"custom empty name", rules.Catalogue{7: {ID: 7, ChatAccess: true}}, 7, "status #7"},
		{"custom blank name", rules.Catalogue{7: {ID: 7, Name: "  \t"}}, 7, "status #7"},
		{"newlines folded", rules.Catalogue{7: {ID: 7, Name: "On\r\nthe  phone\n"}}, 7, "On the phone"},
		{"control characters folded", rules.Catalogue{7: {ID: 7, Name: "a\x1b[31mb\x7f"}}, 7, "a [31mb"},
		{"unknown id", catalogue(), idUnknown, "status #42"},
		{"unknown id nil catalogue", nil, idUnknown, "status #42"},
		{"zero id", nil, 0, "status #0"},
		{"negative id", nil, -1, "status #-1"},
		{"large id", nil, 1 << 40, "status #1099511627776"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Name(tt.id); got != tt.want {
				t.Errorf("Name(%d) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func TestBuildCatalogue(t *testing.T) {
	tests := []struct {
		name       string
		names      map[int64]string
		chatAccess map[int64]bool
		want       rules.Catalogue
	}{
		{"both nil", nil, nil, rules.Catalogue{}},
		{
			"names only: built-ins get fixed access, customs none",
			map[int64]string{1: "Online", 2: "Offline", 3: "Without chats", 10: "Chatting"},
			nil,
			rules.Catalogue{
				1:  {ID: 1, Name: "Online", ChatAccess: true},
				2:  {ID: 2, Name: "Offline"},
				3:  {ID: 3, Name: "Without chats"},
				10: {ID: 10, Name: "Chatting"},
			},
		},
		{
			"config only: entries without names",
			nil,
			map[int64]bool{10: true, 11: false},
			rules.Catalogue{
				10: {ID: 10, ChatAccess: true},
				11: {ID: 11},
			},
		},
		{
			"joined",
			map[int64]string{1: "Online", 10: "Chatting", 11: "Lunch", 12: "Meeting"},
			map[int64]bool{10: true, 11: false, 13: true},
			rules.Catalogue{
				1:  {ID: 1, Name: "Online", ChatAccess: true},
				10: {ID: 10, Name: "Chatting", ChatAccess: true},
				11: {ID: 11, Name: "Lunch"},
				12: {ID: 12, Name: "Meeting"},
				13: {ID: 13, ChatAccess: true},
			},
		},
		{
			"config cannot override built-ins",
			map[int64]string{1: "Online", 2: "Offline"},
			map[int64]bool{1: false, 2: true, 3: true},
			rules.Catalogue{
				1: {ID: 1, Name: "Online", ChatAccess: true},
				2: {ID: 2, Name: "Offline"},
				3: {ID: 3},
			},
		},
		{
			"names kept as given",
			map[int64]string{20: " Обед\n"},
			nil,
			rules.Catalogue{20: {ID: 20, Name: " Обед\n"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			namesBefore, accessBefore := maps.Clone(tt.names), maps.Clone(tt.chatAccess)
			got := rules.BuildCatalogue(tt.names, tt.chatAccess)
			if got == nil {
				t.Fatal("BuildCatalogue returned nil")
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("BuildCatalogue() = %v, want %v", got, tt.want)
			}
			for id, s := range got {
				if s.ChatAccess != got.ChatAccess(id) {
					t.Errorf("entry %d says ChatAccess=%v, lookup says %v", id, s.ChatAccess, got.ChatAccess(id))
				}
			}
			if !maps.Equal(tt.names, namesBefore) || !maps.Equal(tt.chatAccess, accessBefore) {
				t.Error("BuildCatalogue modified its arguments")
			}
		})
	}
}

func TestCountdown(t *testing.T) {
	tests := []struct {
		left time.Duration
		want string
	}{
		{-time.Hour, "0:00"},
		{-time.Nanosecond, "0:00"},
		{0, "0:00"},
		{time.Nanosecond, "0:01"},
		{999 * time.Millisecond, "0:01"},
		{time.Second, "0:01"},
		{time.Second + time.Nanosecond, "0:02"},
		{9 * time.Second, "0:09"},
		{59 * time.Second, "0:59"},
		{time.Minute, "1:00"},
		{2*time.Minute + 41*time.Second, "2:41"},
		{2*time.Minute + 40200*time.Millisecond, "2:41"},
		{3 * time.Minute, "3:00"},
		{10*time.Minute + 5*time.Second, "10:05"},
		{59*time.Minute + 59*time.Second, "59:59"},
		{59*time.Minute + 59*time.Second + time.Millisecond, "1:00:00"},
		{time.Hour, "1:00:00"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1:02:03"},
		{25*time.Hour + 59*time.Minute + 59*time.Second, "25:59:59"},
	}
	for _, tt := range tests {
		t.Run(tt.left.String(), func(t *testing.T) {
			if got := rules.Countdown(t0.Add(tt.left), t0); got != tt.want {
				t.Errorf("Countdown(now+%v, now) = %q, want %q", tt.left, got, tt.want)
			}
		})
	}
}

// TestCountdownMatchesReason keeps the tray's "2:41" and the reason's "2m41s"
// from disagreeing by a second.
func TestCountdownMatchesReason(t *testing.T) {
	for _, ago := range []time.Duration{0, 1, 19*time.Second + 800*time.Millisecond, 2*time.Minute + 59*time.Second + 999*time.Millisecond} {
		d := rules.Decide(in(idLunch, since(ago)))
		sec := (d.At.Sub(t0) + time.Second - 1).Truncate(time.Second)
		want := fmt.Sprintf("%d:%02d", int(sec.Minutes()), int(sec.Seconds())%60)
		if got := rules.Countdown(d.At, t0); got != want {
			t.Errorf("ago %v: Countdown = %q, want %q", ago, got, want)
		}
		if !strings.HasSuffix(d.Reason, " in "+sec.String()) {
			t.Errorf("ago %v: reason %q does not end in %q", ago, d.Reason, sec)
		}
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[rules.Action]string{
		rules.Hold:        "hold",
		rules.KeepOnline:  "keep-online",
		rules.GoOfflineAt: "go-offline-at",
		rules.Action(7):   "Action(7)",
		rules.Action(-1):  "Action(-1)",
	} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", int(a), got, want)
		}
	}
}

func TestDecisionTarget(t *testing.T) {
	tests := []struct {
		action rules.Action
		want   chaport.Status
		ok     bool
	}{
		{rules.Hold, "", false},
		{rules.KeepOnline, chaport.Online, true},
		{rules.GoOfflineAt, chaport.Offline, true},
		{rules.Action(99), "", false},
	}
	for _, tt := range tests {
		got, ok := rules.Decision{Action: tt.action}.Target()
		if got != tt.want || ok != tt.ok {
			t.Errorf("%v: Target() = %q, %v, want %q, %v", tt.action, got, ok, tt.want, tt.ok)
		}
	}
	if chaport.Online != "online" || chaport.Offline != "offline" {
		t.Errorf("Chaport spellings changed: %q, %q", chaport.Online, chaport.Offline)
	}
}

func Example_decide() {
	now := time.Date(2025, 11, 25, 13, 0, 0, 0, time.UTC)
	statuses := rules.BuildCatalogue(
		map[int64]string{1: "Online", 10: "Chatting", 11: "Lunch"}, // from Omnidesk
		map[int64]bool{10: true},                                   // from the hub config
	)
	base := rules.Input{Now: now, Known: true, Catalogue: statuses, Grace: 3 * time.Minute}

	working := base
	working.StatusID = 10
	fmt.Println(rules.Decide(working).Reason)

	lunch := base
	lunch.StatusID = 11
	lunch.NoAccessSince = now.Add(-19 * time.Second)
	d := rules.Decide(lunch)
	fmt.Println(d.Reason)
	fmt.Println("tray:", rules.Countdown(d.At, now))

	lunch.StayOnlineUntil = now.Add(5 * time.Minute)
	fmt.Println(rules.Decide(lunch).Reason)

	lunch.Presence.Locked = true
	fmt.Println(rules.Decide(lunch).Reason)

	lunch.Known = false
	fmt.Println(rules.Decide(lunch).Reason)
	// Output:
	// Omnidesk: Chatting — chat access → Chaport online
	// Omnidesk: Lunch — no chat access → Chaport offline in 2m41s
	// tray: 2:41
	// Omnidesk: Lunch — no chat access → Chaport offline in 5m0s (stay online requested)
	// Screen locked → Chaport offline
	// Omnidesk status unknown (hub unreachable) — Chaport lease lapses on its own
}

// One employee, several computers: an absence here writes nothing while
// the employee is at another computer, and a computer that does not keep
// the operator writes nothing at all.
func TestDecideElsewhere(t *testing.T) {
	other := func(present, owner string) func(*rules.Input) {
		return func(i *rules.Input) { i.Elsewhere = rules.Elsewhere{PresentHost: present, OwnerHost: owner} }
	}
	for _, tc := range []struct {
		name  string
		in    rules.Input
		want  rules.Decision
		cause string
	}{
		{"locked, laptop present and owner", in(rules.StatusOnline, locked, other("laptop", "laptop")),
			hold("Screen locked — also active on laptop, which keeps Chaport"), "lock"},
		{"asleep, laptop present", in(rules.StatusOnline, asleep, other("laptop", "")),
			hold("Computer asleep — also active on laptop, which keeps Chaport"), "sleep"},
		{"locked, nobody else present", in(rules.StatusOnline, locked, other("", "")), offlineAt(t0, reasonLocked), "lock"},
		{"present, laptop keeps it", in(rules.StatusOnline, other("laptop", "laptop")),
			hold("Omnidesk: Online — chat access → Chaport online — left to laptop, where you are active"), "rule"},
		{"present, no access, laptop keeps it", in(idLunch, other("laptop", "laptop")),
			hold("Omnidesk: Lunch — no chat access → Chaport offline in 3m0s — left to laptop, where you are active"), "rule"},
		{"present and owner", in(rules.StatusOnline, other("laptop", "")), online("Omnidesk: Online — chat access → Chaport online"), "rule"},
		{"unknown stays unknown", in(rules.StatusOnline, unknown, other("laptop", "laptop")), hold(reasonUnknown), ""},
		{"grace over", in(idLunch, since(time.Hour)), offlineAt(t0.Add(-57*time.Minute), "Omnidesk: Lunch — no chat access → Chaport offline"), "grace"},
		{"stay online over", in(idLunch, since(time.Hour), stayUntil(0)), offlineAt(t0, "Omnidesk: Lunch — no chat access → Chaport offline"), "stay_online"},
		{"paused", in(rules.StatusOnline, paused), hold(reasonPaused), "pause"},
	} {
		got := rules.Decide(tc.in)
		if got.Action != tc.want.Action || !got.At.Equal(tc.want.At) || got.Reason != tc.want.Reason || got.Cause != tc.cause {
			t.Errorf("%s: Decide() = %v %v %q %q, want %v %v %q %q", tc.name,
				got.Action, got.At, got.Reason, got.Cause, tc.want.Action, tc.want.At, tc.want.Reason, tc.cause)
		}
	}
}
