package e2e

import (
	"strings"
	"testing"
	"time"
)

const statusLunch int64 = 120273

// TestSwitchCommand runs `omnitray switch` against a running headless agent
// and a real hub, with each answer the fake Omnidesk can give a status
// write: accepted (exit 0, and the agent shows the status), ignored (200
// but unchanged: exit 1, not applied) and refused (exit 1); an unknown
// status exits 2 with the valid names, and with no agent it says how to
// start one.
func TestSwitchCommand(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	_, env := startAgentProc(t, s, s.token(staffChen))
	oneLine := func(what string, r result) string {
		t.Helper()
		line := strings.TrimSuffix(r.stderr, "\n")
		if line == "" || strings.Contains(line, "\n") || !strings.HasPrefix(line, "omnitray switch: ") {
			t.Fatalf("%s: stderr %q, want one line starting 'omnitray switch: '", what, r.stderr)
		}
		return line
	}

	r := runProc(t, env, omnitrayBin, "switch", "Перерыв")
	line := oneLine("unknown status", r)
	if r.code != 2 || !strings.Contains(line, `no Omnidesk status is called "Перерыв"`) ||
		!strings.Contains(line, "Онлайн (1), Офлайн (2), Без чатов (3), Обучение (113808), Обед (120273), Дежурство в чатах (130001)") {
		t.Fatalf("unknown status: exit %d, %q; want 2 and the valid names", r.code, line)
	}

	// Accepted: exit 0 once Omnidesk shows it, and the agent shows it at
	// once, not a poll later.
	seq := s.lastSeq()
	r = runProc(t, env, omnitrayBin, "switch", "обед")
	if r.code != 0 || !strings.Contains(r.stdout, "Omnidesk shows «Обед»") {
		t.Fatalf("accepted switch: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	done := time.Now()
	if got := s.staffStatus(staffChen); got != statusLunch {
		t.Fatalf("after exit 0 Omnidesk shows %d, want %d", got, statusLunch)
	}
	waitFor(t, "the agent to show Обед", func() bool {
		_, status := agentView(t, s, env)
		return status == statusLunch
	})
	t.Logf("the agent showed the new status %s after the command", time.Since(done).Round(time.Millisecond))
	var put, readBack bool
	for _, c := range s.calls("omnidesk", seq) {
		put = put || c.Method == "PUT" && c.Path == "/api/staff/203.json" && strings.Contains(c.Body, `"status_id":120273`)
		readBack = readBack || put && c.Method == "GET" && c.Path == "/api/staff/203.json"
	}
	if !put || !readBack {
		t.Errorf("want a PUT then a read-back of staff 203 in the call log (put %v, read-back %v)", put, readBack)
	}
	r = runProc(t, env, omnitrayBin, "switch", "120273")
	if r.code != 0 || !strings.Contains(r.stdout, "already shows «Обед»") {
		t.Errorf("switch to the current status: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// Ignored: 200 and nothing changes. Before the fix this was exit 0.
	s.control("POST", "/_sandbox/settings/omnidesk", map[string]string{"status_write": "ignore"}, nil)
	r = runProc(t, env, omnitrayBin, "switch", "БЕЗ ЧАТОВ")
	line = oneLine("ignored switch", r)
	if r.code != 1 || !strings.Contains(line, "Omnidesk did not apply «Без чатов»; it still shows «Обед»") ||
		!strings.Contains(line, "switch it in Omnidesk: "+s.omnideskURL) {
		t.Errorf("ignored switch: exit %d, %q; want 1, not applied, and where to switch", r.code, line)
	}
	if got := s.staffStatus(staffChen); got != statusLunch {
		t.Errorf("an ignored switch changed the status to %d", got)
	}

	// Refused: 400 from Omnidesk.
	s.control("POST", "/_sandbox/settings/omnidesk", map[string]string{"status_write": "refuse"}, nil)
	r = runProc(t, env, omnitrayBin, "switch", "1")
	line = oneLine("refused switch", r)
	if r.code != 1 || !strings.Contains(line, "Omnidesk refused the switch to «Онлайн»: status_id cannot be changed through the API") {
		t.Errorf("refused switch: exit %d, %q; want 1 and Omnidesk's reason", r.code, line)
	}
	if _, status := agentView(t, s, env); status != statusLunch {
		t.Errorf("after the refusals the agent shows %d, want still %d", status, statusLunch)
	}

	// No agent: one line that says how to start one.
	r = runProc(t, with(s.env, "XDG_RUNTIME_DIR="+t.TempDir()), omnitrayBin, "switch", "Обед")
	line = oneLine("no agent", r)
	if r.code != 1 || !strings.Contains(line, "no agent is running") || !strings.Contains(line, "omnitray run") {
		t.Errorf("no agent: exit %d, %q", r.code, line)
	}
	if r := runProc(t, env, omnitrayBin, "switch", "--help"); r.code != 0 || !strings.Contains(r.stdout, "omnitray switch") {
		t.Errorf("--help: exit %d, stdout %q", r.code, r.stdout)
	}
}
