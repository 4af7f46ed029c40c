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

	n, ok := w.WaitFor(5*time.Second, anyNotify)
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

	if _, ok := w.WaitFor(200*time.Millisecond, anyNotify); ok {
		t.Error("a second Notify call was captured")
	}
	closeAll(t)
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

	testdesktop.InvokeNotificationAction(t, n.ID, "snooze")
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
	closeAll(t)
}

// anyNotify matches every notification.
func anyNotify(testdesktop.Notify) bool { return true }

// closeAll closes the notifications these tests leave displayed.
func closeAll(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("dunstctl", "close-all").CombinedOutput(); err != nil {
		t.Errorf("dunstctl close-all: %v %s", err, out)
	}
}
