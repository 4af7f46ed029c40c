package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omnitray/omnitray/agent/testdesktop"
)

// The desktop tests run `omnitray run` with its tray inside the private
// session of .ci/desktop-session.sh: a real bus, watcher, dunst, keyring.

// desktopEnv is procEnv plus the session's bus addresses and display.
func desktopEnv(t testing.TB) []string {
	env := procEnv(t)
	for _, k := range []string{"DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS", "DISPLAY", "DESKTOP_SESSION_DIR"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// startTrayAgent runs `omnitray run` (tray mode) for staff with s's hub.
func startTrayAgent(t testing.TB, s *stack, staff int64, args ...string) (*proc, []string) {
	env := with(desktopEnv(t), "OMNITRAY_TOKEN="+s.token(staff))
	return startProc(t, env, omnitrayBin, append([]string{"run", "--hub", s.hubURL}, args...)...), env
}

// tooltip returns the title and text of the tray item's ToolTip.
func tooltip(t testing.TB, conn *dbus.Conn, name string) string {
	var tip struct {
		Icon   string
		Pixmap []struct {
			W, H int32
			Data []byte
		}
		Title, Text string
	}
	v := testdesktop.TrayProperty(t, conn, name, "ToolTip")
	if err := dbus.Store([]any{v.Value()}, &tip); err != nil {
		t.Fatalf("decoding ToolTip %v: %v", v, err)
	}
	return tip.Title + " " + tip.Text
}

// iconHash fingerprints the tray item's picture.
func iconHash(t testing.TB, conn *dbus.Conn, name string) string {
	v := testdesktop.TrayProperty(t, conn, name, "IconPixmap")
	return fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprint(v.Value()))))
}

func TestDesktopTray(t *testing.T) {
	testdesktop.Need(t)
	s := startStack(t)
	agent, env := startTrayAgent(t, s, staffAnna, "--grace", "30s", "--lease", "60s")
	conn := testdesktop.SessionBus(t)
	name := testdesktop.FindTrayItem(t, conn, guard)

	var root testdesktop.MenuItem
	waitFor(t, "the menu to list the Omnidesk statuses", func() bool {
		root = testdesktop.MenuLayout(t, conn, name)
		it, ok := testdesktop.FindMenuItem(root, "Онлайн")
		return ok && it.Visible
	})
	for _, label := range []string{"Онлайн · chats", "Офлайн", "Обед", "Дежурство в чатах · chats",
		"Pause sync", "Start at login", "Open Omnidesk", "Sign out", "Quit"} {
		if it, ok := testdesktop.FindMenuItem(root, label); !ok || !it.Visible {
			t.Errorf("menu lacks a visible %q:\n%s", label, root)
		}
	}
	if it, _ := testdesktop.FindMenuItem(root, "Офлайн"); it.ToggleState != 1 {
		t.Errorf("the current status (Offline) is not checked: %+v", it)
	}
	lastTip := ""
	waitFor(t, "the tooltip to explain the Offline status", func() bool {
		tip := tooltip(t, conn, name)
		if tip != lastTip {
			t.Logf("tooltip: %q", tip) // shown if the wait fails
			lastTip = tip
		}
		return strings.Contains(tip, "Офлайн")
	})
	offlineIcon := iconHash(t, conn, name)

	// A click on a status item goes through the hub to Omnidesk and comes
	// back through the feed.
	seq := s.lastSeq()
	online, _ := testdesktop.FindMenuItem(root, "Онлайн")
	testdesktop.ClickMenuItem(t, conn, name, online.ID)
	waitFor(t, "the hub to send the switch to Omnidesk", func() bool {
		for _, c := range s.calls("omnidesk", seq) {
			if c.Method == "PUT" && c.Path == "/api/staff/201.json" && strings.Contains(c.Body, `"status_id":1`) {
				return true
			}
		}
		return false
	})
	waitFor(t, "tooltip and icon to show Online", func() bool {
		return strings.Contains(tooltip(t, conn, name), "Онлайн") && iconHash(t, conn, name) != offlineIcon
	})
	s.waitWrite(opAnna, "online", seq)
	onlineIcon := iconHash(t, conn, name)

	// A flip in the sandbox shows as a countdown.
	s.setStaffStatus(staffAnna, 120273)
	waitFor(t, "tooltip and icon to show the pending offline", func() bool {
		tip := tooltip(t, conn, name)
		return strings.Contains(tip, "Обед") && strings.Contains(tip, "offline in") && iconHash(t, conn, name) != onlineIcon
	})
	if it, _ := testdesktop.FindMenuItem(testdesktop.MenuLayout(t, conn, name), "Stay online 5 min"); !it.Visible {
		t.Error("Stay online is not offered while an offline is pending")
	}

	// One agent per user: a second start asks the first to show itself.
	second := runProc(t, env, omnitrayBin, "run", "--hub", s.hubURL)
	if second.code != 0 || !strings.Contains(second.stderr, "already running") {
		t.Errorf("second instance: code %d, stderr %q", second.code, second.stderr)
	}
	if agent.exited() {
		t.Fatalf("the first agent died: %s", agent.stderr.String())
	}
}

func TestDesktopOfflineSoonNotification(t *testing.T) {
	testdesktop.Need(t, "display")
	needBinaries(t)
	s := &stack{t: t, env: procEnv(t), hubConfig: hubConfig}
	s.startSandbox()
	// An admin-typed status name with markup in it, before the hub reads
	// the catalogue.
	s.control("POST", "/_sandbox/statuses/120273", map[string]string{"name": `Обед <b>&</b> <a href="x">`}, nil)
	s.startHub()
	s.setStaffStatus(staffAnna, statusOnline)
	w := testdesktop.WatchNotifications(t)
	startTrayAgent(t, s, staffAnna, "--grace", "8s", "--lease", "60s")
	s.waitWrite(opAnna, "online", 0)

	seq := s.lastSeq()
	flip := s.setStaffStatus(staffAnna, 120273)
	lunch := func(n testdesktop.Notify) bool {
		return strings.Contains(n.Summary, "offline in") && strings.Contains(n.Body, "Обед")
	}
	first, ok := w.WaitFor(guard, lunch)
	if !ok {
		t.Fatal("no offline-soon notification")
	}
	if !strings.Contains(first.Body, "Обед &lt;b&gt;&amp;&lt;/b&gt; &lt;a href=&#34;x&#34;&gt;") || strings.Contains(first.Body, "<b>") {
		t.Errorf("body not escaped for a markup server: %q", first.Body)
	}
	if de, _ := first.Hints["desktop-entry"].Value().(string); de != "omnitray" {
		t.Errorf("desktop-entry hint %v", first.Hints["desktop-entry"])
	}
	if !strings.Contains(strings.Join(first.Actions, ","), "stay-online") {
		t.Fatalf("no Stay online action: %v", first.Actions)
	}
	testdesktop.InvokeNotificationAction(t, first.ID, "stay-online")
	again, ok := w.WaitFor(guard, lunch)
	if !ok || again.ReplacesID != first.ID {
		t.Fatalf("the repeat does not replace the first (id %d): %+v", first.ID, again)
	}
	// Past the original grace the operator is still online, and nothing
	// wrote offline.
	sleepUntil(flip.Add(11 * time.Second))
	for _, wr := range s.writes(opAnna, seq) {
		if wr.status == "offline" {
			t.Fatalf("offline written despite Stay online: %+v", wr)
		}
	}
	if st := s.operator(opAnna); st.RealStatus != "online" {
		t.Fatalf("operator %+v", st)
	}
}

func TestDesktopLockAndSleep(t *testing.T) {
	testdesktop.Need(t, "system-bus")
	logind := testdesktop.StartFakeLogind(t, testdesktop.LogindOptions{})
	s := startStack(t)
	s.setStaffStatus(staffAnna, statusOnline)
	startTrayAgent(t, s, staffAnna, "--grace", "60s", "--lease", "60s")
	s.waitWrite(opAnna, "online", 0)
	waitFor(t, "the agent to take a sleep inhibitor", func() bool { return len(logind.Inhibitors()) > 0 })

	seq := s.lastSeq()
	logind.SetLocked(true)
	s.waitWrite(opAnna, "offline", seq) // at once: the grace is a minute
	seq = s.lastSeq()
	logind.SetLocked(false)
	s.waitWrite(opAnna, "online", seq)

	seq = s.lastSeq()
	logind.PrepareForSleep(true)
	s.waitWrite(opAnna, "offline", seq)
	waitFor(t, "the inhibitor to be released after the offline", func() bool { return len(logind.Inhibitors()) == 0 })
	seq = s.lastSeq()
	logind.PrepareForSleep(false)
	s.waitWrite(opAnna, "online", seq)
}

func TestDesktopKeyringSignIn(t *testing.T) {
	testdesktop.Need(t)
	s := startStack(t)
	env := desktopEnv(t)
	token := s.token(staffChen)

	login := exec.Command(omnitrayBin, "login", "--hub", s.hubURL)
	login.Env, login.Stdin = env, strings.NewReader(token+"\n")
	var out bytes.Buffer
	login.Stdout, login.Stderr = &out, &out
	if err := login.Run(); err != nil || strings.Contains(out.String(), token) {
		t.Fatalf("login: %v: %s", err, out.String())
	}
	if path, err := exec.LookPath("secret-tool"); err == nil {
		got, err := exec.Command(path, "lookup", "service", "omnitray", "username", "hub-token").Output()
		if err != nil || strings.TrimSpace(string(got)) != token {
			t.Fatalf("the keyring does not hold the token: %v", err)
		}
	}
	// run finds both the token (keyring) and the hub (config from login).
	agent := startProc(t, env, omnitrayBin, "run")
	waitFor(t, "the agent to connect with the stored token", func() bool {
		r := runProc(t, env, omnitrayBin, "status", "--json")
		var st struct{ Connection string }
		return r.code == 0 && json.Unmarshal([]byte(r.stdout), &st) == nil && st.Connection == "connected"
	})
	agent.kill()
	if r := runProc(t, env, omnitrayBin, "logout"); r.code != 0 {
		t.Fatalf("logout: %+v", r)
	}
	if path, err := exec.LookPath("secret-tool"); err == nil {
		if got, _ := exec.Command(path, "lookup", "service", "omnitray", "username", "hub-token").Output(); len(got) != 0 {
			t.Fatal("the token is still in the keyring after logout")
		}
	}
	for _, p := range []*proc{agent} {
		if strings.Contains(p.stderr.String()+p.stdout.String(), token) {
			t.Fatal("the token appeared in the agent's output")
		}
	}
	// Nothing the agent or login wrote holds the token: config, runtime dir.
	var dirs []string
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == "XDG_CONFIG_HOME" || k == "XDG_RUNTIME_DIR" {
			dirs = append(dirs, v)
		}
	}
	assertNoTokenInFiles(t, token, dirs...)
}

// TestDesktopQuitSaysGoodbye: Quit in the tray menu stops the agent the way
// SIGTERM does: the hub sees the connection closed with 1001 (not cut,
// 1006), the agent logs its exit line and exits 0.
func TestDesktopQuitSaysGoodbye(t *testing.T) {
	testdesktop.Need(t)
	s := startStack(t)
	agent, _ := startTrayAgent(t, s, staffAnna)
	conn := testdesktop.SessionBus(t)
	name := testdesktop.FindTrayItem(t, conn, guard)
	waitFor(t, "the hub to log the agent connected", func() bool {
		return strings.Contains(s.hub.stderr.String(), "agent connected")
	})
	quit, ok := testdesktop.FindMenuItem(testdesktop.MenuLayout(t, conn, name), "Quit")
	if !ok {
		t.Fatal("no Quit in the menu")
	}
	testdesktop.ClickMenuItem(t, conn, name, quit.ID)
	select {
	case <-agent.done:
	case <-time.After(guard):
		t.Fatalf("the agent did not quit; stderr:\n%s", agent.stderr.String())
	}
	if code := agent.exitCode(); code != 0 || !strings.Contains(agent.stderr.String(), "agent stopped") {
		t.Fatalf("exit %d; stderr:\n%s", code, agent.stderr.String())
	}
	waitFor(t, "the hub to log the agent's goodbye (1001)", func() bool {
		return strings.Contains(s.hub.stderr.String(), "1001")
	})
	if strings.Contains(s.hub.stderr.String(), "1006") {
		t.Fatalf("the hub saw the connection cut:\n%s", s.hub.stderr.String())
	}
}
