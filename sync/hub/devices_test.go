package hub_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// waitDevices waits for a devices message that ok accepts.
func (a *agentConn) waitDevices(what string, ok func(feed.Devices) bool) feed.Devices {
	a.t.Helper()
	guard := time.After(15 * time.Second)
	for {
		select {
		case ev := <-a.events:
			if ev.Kind == feed.Message && ev.Env.Type == feed.TypeStatus {
				ch, _ := feed.DecodeData[feed.StatusChange](ev.Env)
				a.status = ch.StatusID
			}
			if ev.Kind != feed.Message || ev.Env.Type != feed.TypeDevices {
				continue
			}
			d, err := feed.DecodeData[feed.Devices](ev.Env)
			if err == nil && ok(d) {
				return d
			}
		case <-guard:
			a.t.Fatalf("no devices message: %s", what)
		}
	}
}

func (a *agentConn) report(host, state string) {
	a.t.Helper()
	if _, err := a.c.Request(context.Background(), feed.TypePresence, feed.Presence{Host: host, State: state}); err != nil {
		a.t.Fatal(err)
	}
}

// One employee on two computers: the present one that connected first
// keeps the operator; when it is locked the other takes over, and both are
// told (issue 11 §2).
func TestOneEmployeeTwoComputers(t *testing.T) {
	s := startStack(t, clock.Real{}, 1_000_000, `{"min_poll_interval": "100ms", "chats": {"enabled": false}}`)
	desk := connect(t, s, sandbox.SeedStaffAnna)
	desk.report("desk", feed.PresencePresent)
	laptop := connect(t, s, sandbox.SeedStaffAnna)
	laptop.report("laptop", feed.PresencePresent)
	d := laptop.waitDevices("two computers, the desk keeps it", func(d feed.Devices) bool {
		return len(d.Devices) == 2 && !d.Owner && d.Devices[0].Host == "desk" && d.Devices[0].Owner
	})
	if o := d.Others(); len(o) != 1 || o[0].Host != "desk" {
		t.Fatalf("others: %+v", o)
	}
	desk.waitDevices("the desk keeps it", func(d feed.Devices) bool { return d.Owner && len(d.Devices) == 2 })

	desk.report("desk", feed.PresenceLocked)
	laptop.waitDevices("the laptop takes over", func(d feed.Devices) bool { return d.Owner })
	desk.waitDevices("the desk is told", func(d feed.Devices) bool {
		return !d.Owner && len(d.Others()) == 1 && d.Others()[0].State == feed.PresencePresent && d.Others()[0].Owner
	})

	// Another employee hears nothing of Anna's computers.
	boris := connect(t, s, sandbox.SeedStaffBoris)
	boris.waitDevices("Boris alone", func(d feed.Devices) bool {
		return d.Owner && len(d.Devices) == 1 && d.Devices[0].Self
	})

	// Names are the agent's to choose, but not to abuse.
	laptop.report("evil\n\x1b[31m"+strings.Repeat("x", 200), feed.PresencePresent)
	got := desk.waitDevices("the laptop's cleaned name", func(d feed.Devices) bool {
		return len(d.Others()) == 1 && strings.HasPrefix(d.Others()[0].Host, "evil")
	})
	if h := got.Others()[0].Host; len(h) > feed.MaxHostBytes || strings.ContainsAny(h, "\n\x1b") {
		t.Fatalf("host shown as %q", h)
	}
	if _, err := laptop.c.Request(context.Background(), feed.TypePresence, feed.Presence{Host: "x", State: "dancing"}); err == nil {
		t.Fatal("an unknown presence state was accepted")
	}
}

// The hub keeps every transition with its reason, and answers each
// employee only their own (issue 11 §3).
func TestHistoryOfTransitions(t *testing.T) {
	s := startStack(t, clock.Real{}, 1_000_000, `{"min_poll_interval": "100ms", "chats": {"enabled": false}}`)
	if err := s.sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusOnline); err != nil {
		t.Fatal(err)
	}
	anna := connect(t, s, sandbox.SeedStaffAnna)
	anna.waitStatus(sandbox.StatusOnline)
	anna.report("desk", feed.PresencePresent)
	write := func(status, cause, reason string) {
		t.Helper()
		if _, err := anna.request(feed.TypeSetChaport, feed.SetChaport{Status: chaport.Status(status), TTLSeconds: 60,
			Why: feed.Why{Cause: cause, Reason: reason}}); err != nil {
			t.Fatal(err)
		}
	}
	write("online", "rule", "Omnidesk: Онлайн — chat access → Chaport online")
	write("online", "rule", "a renewal is not a transition")
	write("offline", "lock", "Screen locked → Chaport offline")
	if err := s.sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusLunch); err != nil {
		t.Fatal(err)
	}
	anna.waitStatus(sandbox.StatusLunch)

	page := historyOf(t, anna)
	var lines []string
	for _, e := range page.Entries {
		if e.Staff != sandbox.SeedStaffAnna {
			t.Fatalf("another employee's entry: %+v", e)
		}
		lines = append(lines, e.Kind+" "+e.From+"→"+e.To+" "+e.Cause+" "+e.Reason+" "+e.Host)
	}
	want := []string{
		"chaport →online rule Omnidesk: Онлайн — chat access → Chaport online desk",
		"chaport online→offline lock Screen locked → Chaport offline desk",
		"omnidesk Онлайн→Обед omnidesk changed in Omnidesk ",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// The day so far, in one small answer: the newest first.
	raw, err := anna.c.Request(context.Background(), feed.TypeToday, feed.TodayQuery{Since: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var today feed.Today
	if err := json.Unmarshal(raw, &today); err != nil {
		t.Fatal(err)
	}
	if len(today.Recent) != 3 || today.Recent[0].Kind != "omnidesk" || today.Recent[2].To != "online" || today.OnlineNow {
		t.Fatalf("today: %+v", today)
	}
	if _, err := anna.c.Request(context.Background(), feed.TypeToday, feed.TodayQuery{Since: time.Now().Add(time.Hour)}); err == nil {
		t.Fatal("a day starting in the future was answered")
	}

	boris := connect(t, s, sandbox.SeedStaffBoris)
	if p := historyOf(t, boris); len(p.Entries) != 0 {
		t.Fatalf("Boris sees %d entries that are not his", len(p.Entries))
	}
}

func historyOf(t *testing.T, a *agentConn) feed.HistoryPage {
	t.Helper()
	raw, err := a.c.Request(context.Background(), feed.TypeHistory, feed.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var page feed.HistoryPage
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Fatal(err)
	}
	return page
}
