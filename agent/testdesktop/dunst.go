package testdesktop

import (
	"encoding/json"
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

// InvokeAction makes dunst invoke action key ("default", or any key the app
// sent in Actions) of the newest displayed notification that offers it, as if
// the user picked it: dunst emits ActionInvoked(id, key) to the app. It fails
// the test when no displayed notification offers key.
func InvokeAction(t testing.TB, key string) {
	t.Helper()
	invokeAction(t, ","+key+"]", fmt.Sprintf("action %q", key))
}

// InvokeNotificationAction is InvokeAction for the notification with the
// given id (Notify.ID).
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

// CloseAll closes every displayed notification (`dunstctl close-all`); each
// one gets NotificationClosed(id, 2) and moves to the history.
func CloseAll(t testing.TB) {
	t.Helper()
	dunstctl(t, "close-all")
}

// HistoryEntry is one notification in dunst's history.
type HistoryEntry struct {
	ID       int64
	AppName  string
	Summary  string
	Body     string // as sent
	Message  string // after dunst's format ("<b>%s</b>\n%b"), markup kept
	Category string
	// Raw has every field dunstctl reported, e.g. "timestamp" (µs since
	// boot), "timeout", "default_action_name", "icon_path" (numbers as float64).
	Raw map[string]any
}

// DunstHistory returns dunst's history, newest first. It holds only
// notifications that were closed or expired, never those still displayed
// (P12): call CloseAll first to include those.
func DunstHistory(t testing.TB) []HistoryEntry {
	t.Helper()
	out := dunstctl(t, "history")
	var doc struct {
		Data [][]map[string]struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("parsing `dunstctl history`: %v\n%s", err, out)
	}
	var entries []HistoryEntry
	for _, group := range doc.Data {
		for _, fields := range group {
			e := HistoryEntry{Raw: map[string]any{}}
			for k, f := range fields {
				var v any
				_ = json.Unmarshal(f.Data, &v)
				e.Raw[k] = v
			}
			str := func(k string) string { s, _ := e.Raw[k].(string); return s }
			e.AppName, e.Summary, e.Body, e.Message = str("appname"), str("summary"), str("body"), str("message")
			e.Category = str("category")
			if id, ok := e.Raw["id"].(float64); ok {
				e.ID = int64(id)
			}
			entries = append(entries, e)
		}
	}
	return entries
}
