package testdesktop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// dunstMu serialises the helpers that go through dunst's context menu.
var dunstMu sync.Mutex

// dunstctl runs `dunstctl args...` against the session's dunst.
func dunstctl(t testing.TB, args ...string) []byte {
	t.Helper()
	Need(t, "display")
	out, err := exec.Command("dunstctl", args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("dunstctl %s: %v %s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// InvokeNotificationAction makes dunst invoke action key ("default", or any
// key the app sent in Actions) of the displayed notification id (Notify.ID),
// as if the user picked it: dunst emits ActionInvoked(id, key) to the app.
// It fails the test when that notification does not offer key.
func InvokeNotificationAction(t testing.TB, id uint32, key string) {
	t.Helper()
	invokeAction(t, fmt.Sprintf("[%d,%s]", id, key), fmt.Sprintf("action %q of notification %d", key, id))
}

// invokeAction goes through dunst's context menu: .ci/desktop-session.sh
// configures a "dmenu" program that picks the line ending with want.
func invokeAction(t testing.TB, want, what string) {
	t.Helper()
	Need(t, "display")
	dir := os.Getenv("DESKTOP_SESSION_DIR")
	if _, err := os.Stat(filepath.Join(dir, "dunst-dmenu")); err != nil {
		t.Fatalf("invoking %s: the session runs no dunst (DESKTOP_NOTIFY=none?): %v", what, err)
	}
	dunstMu.Lock()
	defer dunstMu.Unlock()
	wantFile := filepath.Join(dir, "dunst-dmenu.want")
	resultFile := filepath.Join(dir, "dunst-dmenu.result")
	_ = os.Remove(resultFile)
	if err := os.WriteFile(wantFile+".tmp", []byte(want), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(wantFile+".tmp", wantFile); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(wantFile)
	dunstctl(t, "context")
	// dunst only runs the menu program when some displayed notification has
	// actions; the program reports its pick (or NONE) in resultFile.
	deadline := time.Now().Add(3 * time.Second)
	for {
		b, err := os.ReadFile(resultFile)
		if err == nil {
			_ = os.Remove(resultFile)
			pick := strings.TrimSpace(string(b))
			if pick == "NONE" || pick == "" {
				offered, _ := os.ReadFile(filepath.Join(dir, "dunst-dmenu.input"))
				t.Fatalf("invoking %s: no displayed notification offers it; dunst offered:\n%s", what, offered)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("invoking %s: dunst showed no context menu: no displayed notification has actions", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
