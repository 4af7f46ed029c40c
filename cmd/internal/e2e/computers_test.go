package e2e

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent/testdesktop"
)

// computerView is what `omnitray status --json` says of the other computers.
type computerView struct {
	Connection     string `json:"connection"`
	Reason         string `json:"reason"`
	OtherComputers []struct {
		Host  string `json:"host"`
		State string `json:"state"`
		Owner bool   `json:"owner"`
	} `json:"other_computers"`
}

func computers(t testing.TB, env []string) computerView {
	var v computerView
	r := runProc(t, env, omnitrayBin, "status", "--json")
	if r.code == 0 {
		_ = json.Unmarshal([]byte(r.stdout), &v)
	}
	return v
}

// startComputer runs a headless agent for staff named name, with its own
// runtime directory (one agent per user and computer otherwise).
func startComputer(t testing.TB, s *stack, staff int64, name string, args ...string) (*proc, []string) {
	t.Helper()
	env := with(s.env, "OMNITRAY_TOKEN="+s.token(staff), "XDG_RUNTIME_DIR="+t.TempDir())
	p := startProc(t, env, omnitrayBin, append([]string{"run", "--headless", "--hub", s.hubURL,
		"--computer-name", name}, args...)...)
	return p, env
}

// Two real agent processes for one employee: each lists the other, one of
// them keeps the operator, and the history both read is the same, with the
// reasons (issue 11 §2, §3).
func TestTwoComputersOneEmployee(t *testing.T) {
	s := startStack(t)
	s.setStaffStatus(staffBoris, statusOnline)
	_, deskEnv := startComputer(t, s, staffBoris, "desk", "--lease", "20s")
	s.waitWrite(opBoris, "online", 0)
	laptop, laptopEnv := startComputer(t, s, staffBoris, "laptop", "--lease", "20s")
	waitFor(t, "each computer to list the other, the desk keeping the operator", func() bool {
		d, l := computers(t, deskEnv), computers(t, laptopEnv)
		return len(d.OtherComputers) == 1 && d.OtherComputers[0].Host == "laptop" && !d.OtherComputers[0].Owner &&
			len(l.OtherComputers) == 1 && l.OtherComputers[0].Host == "desk" && l.OtherComputers[0].Owner &&
			strings.Contains(l.Reason, "left to desk")
	})
	r := runProc(t, laptopEnv, omnitrayBin, "status")
	if !strings.Contains(r.stdout, "desk (present; also connected, keeps Chaport)") {
		t.Fatalf("omnitray status on the laptop does not name the desk:\n%s", r.stdout)
	}

	// Omnidesk: Без чатов, then the grace (3 m by default) is cut short by
	// no one; switch back to Online so that the history has both kinds.
	s.setStaffStatus(staffBoris, statusWithoutChats)
	waitFor(t, "the change to reach the desk", func() bool {
		return strings.Contains(computers(t, deskEnv).Reason, "no chat access")
	})
	s.setStaffStatus(staffBoris, statusOnline)

	var entries []struct {
		Kind, From, To, Cause, Reason, Host string
		At                                  time.Time
	}
	var got []string
	waitFor(t, "the history to hold both Omnidesk changes", func() bool {
		r := runProc(t, laptopEnv, omnitrayBin, "history", "--json")
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &entries) != nil {
			return false
		}
		got = got[:0]
		for _, e := range entries {
			got = append(got, e.Kind+" "+e.From+"→"+e.To+" "+e.Cause+" "+e.Host)
		}
		return strings.HasSuffix(strings.Join(got, "|"), "omnidesk Без чатов→Онлайн omnidesk ")
	})
	// The stack's own start (Офлайн → Онлайн) may come first.
	want := "chaport →online rule desk|omnidesk Онлайн→Без чатов omnidesk |omnidesk Без чатов→Онлайн omnidesk "
	if !strings.HasSuffix(strings.Join(got, "|"), want) {
		t.Fatalf("history from the laptop:\n%s\nwant it to end with:\n%s", strings.Join(got, "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
	rd := runProc(t, deskEnv, omnitrayBin, "history", "--csv", "--since", "1h")
	rows, err := csv.NewReader(strings.NewReader(rd.stdout)).ReadAll()
	if err != nil || len(rows) < 4 || strings.Join(rows[0], ",") != "at,kind,from,to,cause,reason,computer" {
		t.Fatalf("history --csv from the desk: %v\n%s", err, rd.stdout)
	}
	if r := runProc(t, deskEnv, omnitrayBin, "history", "--since", "5x"); r.code != 2 || !strings.Contains(r.stderr, "--since") {
		t.Fatalf("history --since 5x: %+v", r)
	}

	// The laptop goes: the desk is alone again and says so.
	laptop.kill()
	waitFor(t, "the desk to be alone", func() bool { return len(computers(t, deskEnv).OtherComputers) == 0 })
}

// On a real desktop: the employee locks the tray computer while working on
// another (a headless agent here); nothing is written, where it used to
// write offline and make the operator flap. When the other computer goes
// too, the locked one writes offline as a lone computer does.
func TestDesktopLockWhileActiveElsewhere(t *testing.T) {
	testdesktop.Need(t, "system-bus")
	logind := testdesktop.StartFakeLogind(t, testdesktop.LogindOptions{})
	s := startStack(t)
	s.setStaffStatus(staffAnna, statusOnline)
	startTrayAgent(t, s, staffAnna, "--grace", "60s", "--lease", "60s", "--computer-name", "desk")
	s.waitWrite(opAnna, "online", 0)
	other, otherEnv := startComputer(t, s, staffAnna, "laptop", "--grace", "60s", "--lease", "60s")
	waitFor(t, "the laptop to see the desk", func() bool { return len(computers(t, otherEnv).OtherComputers) == 1 })

	seq := s.lastSeq()
	logind.SetLocked(true)
	waitFor(t, "the laptop to keep the operator", func() bool {
		v := computers(t, otherEnv)
		return len(v.OtherComputers) == 1 && v.OtherComputers[0].State == "locked"
	})
	sleepUntil(time.Now().Add(2 * time.Second)) // a wrong offline would come at once
	for _, w := range s.writes(opAnna, seq) {
		if w.status == "offline" {
			t.Fatalf("offline written while the employee was active on the laptop: %+v", w)
		}
	}
	other.kill()
	s.waitWrite(opAnna, "offline", seq)
}
