package testdesktop_test

import (
	"bytes"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent/testdesktop"
)

// notifySend runs notify-send, a libnotify client: a sender that shares no
// code with the helpers under test.
func notifySend(t *testing.T, args ...string) uint32 {
	t.Helper()
	out, err := exec.Command("notify-send", append([]string{"--print-id"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("notify-send %v: %v\n%s", args, err, out)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 32)
	if err != nil {
		t.Fatalf("notify-send printed %q", out)
	}
	return uint32(id)
}

func TestDesktopWatchNotifications(t *testing.T) {
	testdesktop.Need(t, "display")
	w := testdesktop.WatchNotifications(t)
	body := "a &amp; <b>b</b>"
	id := notifySend(t, "-a", "omnitray-test", "-u", "critical", "-t", "0", "Sync finished", body)

	n, ok := w.Next(5 * time.Second)
	if !ok {
		t.Fatal("no Notify call seen")
	}
	if n.AppName != "omnitray-test" || n.Summary != "Sync finished" || n.Body != body || n.Expire != 0 {
		t.Errorf("captured %+v", n)
	}
	if n.ID != id {
		t.Errorf("captured id %d, notify-send got %d", n.ID, id)
	}
	if u, _ := n.Hints["urgency"].Value().(byte); u != 2 {
		t.Errorf("urgency hint = %v, want 2 (critical)", n.Hints["urgency"])
	}
	if n.Sender == "" || !strings.HasPrefix(n.Sender, ":") {
		t.Errorf("sender = %q", n.Sender)
	}

	testdesktop.CloseAll(t)
	if reason, ok := w.WaitClosed(id, 5*time.Second); !ok || reason != 2 {
		t.Errorf("NotificationClosed(%d) = %d, %v; want reason 2 (dismissed)", id, reason, ok)
	}
	hist := testdesktop.DunstHistory(t)
	i := slices.IndexFunc(hist, func(e testdesktop.HistoryEntry) bool { return e.ID == int64(id) })
	if i < 0 {
		t.Fatalf("notification %d not in dunst history: %+v", id, hist)
	}
	if e := hist[i]; e.AppName != "omnitray-test" || e.Body != body || e.Summary != "Sync finished" {
		t.Errorf("history entry %+v", e)
	}
	if _, ok := w.Next(200 * time.Millisecond); ok {
		t.Error("a second Notify call was captured")
	}
}

func TestDesktopInvokeAction(t *testing.T) {
	testdesktop.Need(t, "display")
	w := testdesktop.WatchNotifications(t)
	// notify-send -A waits for an action and prints its key.
	var out bytes.Buffer
	cmd := exec.Command("notify-send", "-a", "omnitray-test", "-A", "default=Open", "-A", "snooze=Snooze 1 h",
		"Chat handed over", "The bot collected the order number")
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	n, ok := w.WaitFor(5*time.Second, func(n testdesktop.Notify) bool { return n.Summary == "Chat handed over" })
	if !ok {
		t.Fatal("no Notify call seen")
	}
	if want := []string{"default", "Open", "snooze", "Snooze 1 h"}; !slices.Equal(n.Actions, want) {
		t.Errorf("actions %q, want %q", n.Actions, want)
	}

	testdesktop.InvokeAction(t, "snooze")
	if key, ok := w.WaitAction(n.ID, 5*time.Second); !ok || key != "snooze" {
		t.Errorf("ActionInvoked(%d) = %q, %v", n.ID, key, ok)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("notify-send: %v", err)
		}
		if got := strings.TrimSpace(out.String()); got != "snooze" {
			t.Errorf("notify-send printed %q, want snooze", got)
		}
	case <-time.After(5 * time.Second):
		t.Error("notify-send did not get the action")
	}
	testdesktop.CloseAll(t)
}
