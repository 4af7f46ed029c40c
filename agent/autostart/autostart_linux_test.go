package autostart

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const childEnv = "OMNITRAY_AUTOSTART_CHILD"

// runInChild re-runs the calling test in a child process with
// XDG_CONFIG_HOME set to a fresh directory, because go-autostart reads the
// variable in init() (a t.Setenv would come too late), and returns that
// directory. In the child it returns "" and the test goes on.
func runInChild(t *testing.T) string {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return ""
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name(), "XDG_CONFIG_HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
	return dir
}

func TestXDGLifecycle(t *testing.T) {
	if runInChild(t) != "" {
		return
	}
	dir := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "autostart")
	if initDir != dir {
		t.Fatalf("initDir = %s, want %s", initDir, dir)
	}
	path := filepath.Join(dir, "omnitray.desktop")
	exe := "/opt/omni tray/100%/bin/omnitray"
	e := New("omnitray", "Omnitray", exe, []string{"run"})

	if on, err := e.Enabled(); err != nil || on {
		t.Fatalf("Enabled before Enable = %v, %v", on, err)
	}
	for range 2 { // twice: go-autostart's in-place quoting must not accumulate
		if err := e.Enable(); err != nil {
			t.Fatal(err)
		}
	}
	if on, err := e.Enabled(); err != nil || !on {
		t.Fatalf("Enabled after Enable = %v, %v", on, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"Exec=\"/opt/omni tray/100%%/bin/omnitray\" run", "Terminal=false",
		"Name=Omnitray", "Comment=Start Omnitray when you log in", "X-GNOME-Autostart-enabled=true", "Type=Application"} {
		if !slices.Contains(strings.Split(string(data), "\n"), line) {
			t.Errorf("entry lacks %q:\n%s", line, data)
		}
	}
	validate(t, path)
	if cur, err := e.Current(); err != nil || !slices.Equal(cur, []string{exe, "run"}) {
		t.Fatalf("Current = %q, %v", cur, err)
	}
	if changed, err := e.Repair(); err != nil || changed {
		t.Fatalf("Repair of a current entry = %v, %v; want no change", changed, err)
	}

	// The binary moved: Repair points the entry at the new path.
	moved := New("omnitray", "Omnitray", "/usr/local/bin/omnitray", []string{"run"})
	if changed, err := moved.Repair(); err != nil || !changed {
		t.Fatalf("Repair after a move = %v, %v; want a change", changed, err)
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), "\nExec=/usr/local/bin/omnitray run\n") {
		t.Fatalf("entry after Repair:\n%s", data)
	}

	// Switched off by the desktop: not enabled, and Repair leaves it alone.
	off := strings.Replace(string(data), "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false", 1)
	if err := os.WriteFile(path, []byte(off), 0o644); err != nil {
		t.Fatal(err)
	}
	if on, err := e.Enabled(); err != nil || on {
		t.Fatalf("Enabled with X-GNOME-Autostart-enabled=false = %v, %v", on, err)
	}
	if changed, err := e.Repair(); err != nil || changed {
		t.Fatalf("Repair of a switched-off entry = %v, %v; want no change", changed, err)
	}

	for range 2 { // a missing entry is not an error
		if err := e.Disable(); err != nil {
			t.Fatal(err)
		}
	}
	if on, err := e.Enabled(); err != nil || on {
		t.Fatalf("Enabled after Disable = %v, %v", on, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("entry still there after Disable: %v", err)
	}
}

// TestXDGNastyPath: every character the Exec rules treat specially, through
// go-autostart, desktop-file-validate and back.
func TestXDGNastyPath(t *testing.T) {
	if runInChild(t) != "" {
		return
	}
	exe := "/tmp/my dir/100%/o$m`n\"i\\t'ray"
	e := New("omnitray", "Omni \\ tray", exe, []string{"run", "--x=50%"})
	if err := e.Enable(); err != nil {
		t.Fatal(err)
	}
	validate(t, filepath.Join(initDir, "omnitray.desktop"))
	if cur, err := e.Current(); err != nil || !slices.Equal(cur, e.Command()) {
		t.Fatalf("Current = %q, %v; want %q", cur, err, e.Command())
	}
	if err := e.Disable(); err != nil {
		t.Fatal(err)
	}
}

// TestXDGConfigHomeChangedAtRuntime: once XDG_CONFIG_HOME changes after
// start-up, the entry follows the new value and go-autostart (stuck on the
// old one) is not called.
func TestXDGConfigHomeChangedAtRuntime(t *testing.T) {
	if runInChild(t) != "" {
		return
	}
	newHome := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", newHome)
	e := New("omnitray", "Omnitray", "/usr/bin/omnitray", []string{"run"})
	if err := e.Enable(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(newHome, "autostart", "omnitray.desktop")); err != nil {
		t.Fatalf("entry not in the new XDG_CONFIG_HOME: %v", err)
	}
	if _, err := os.Stat(filepath.Join(initDir, "omnitray.desktop")); !os.IsNotExist(err) {
		t.Fatalf("go-autostart wrote to the old XDG_CONFIG_HOME: %v", err)
	}
	if err := e.Disable(); err != nil {
		t.Fatal(err)
	}
}

func TestEnableRefusesRelativeExe(t *testing.T) {
	if err := New("omnitray", "Omnitray", "omnitray", nil).Enable(); err == nil {
		t.Fatal("Enable accepted a relative program path")
	}
	if err := New("../x", "X", "/usr/bin/x", nil).Enable(); err == nil {
		t.Fatal("Enable accepted a name with a slash")
	}
}

// validate runs desktop-file-validate (package desktop-file-utils) when it
// is installed.
func validate(t *testing.T, path string) {
	t.Helper()
	tool, err := exec.LookPath("desktop-file-validate")
	if err != nil {
		t.Log("desktop-file-validate not installed; skipping validation")
		return
	}
	if out, err := exec.Command(tool, path).CombinedOutput(); err != nil || len(out) > 0 {
		data, _ := os.ReadFile(path)
		t.Fatalf("desktop-file-validate: %v\n%s\n%s", err, out, data)
	}
}
