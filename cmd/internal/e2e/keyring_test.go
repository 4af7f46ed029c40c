package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omnitray/omnitray/agent/testdesktop"
)

// helperEnv names the bus name a child of this test binary owns.
const helperEnv = "E2E_OWN_BUS_NAME"

// TestHelperOwnName is not a test: run as a child with helperEnv set, it
// owns that name on DBUS_SESSION_BUS_ADDRESS and then waits to be frozen.
func TestHelperOwnName(t *testing.T) {
	name := os.Getenv(helperEnv)
	if name == "" {
		t.Skip("helper process only")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: %v %v", name, reply, err)
	}
	os.Stdout.WriteString("owned\n")
	select {}
}

// TestDesktopKeyringThatNeverAnswers: a Secret Service that takes calls and
// never answers (a frozen process owning the name) must not hang `omnitray
// run`: it fails within its keyring timeout with a one-line reason.
func TestDesktopKeyringThatNeverAnswers(t *testing.T) {
	testdesktop.Need(t)
	needBinaries(t)
	addr, _ := testdesktop.PrivateBus(t)

	owner := exec.Command(os.Args[0], "-test.run=^TestHelperOwnName$")
	owner.Env = append(os.Environ(), helperEnv+"=org.freedesktop.secrets", "DBUS_SESSION_BUS_ADDRESS="+addr)
	ownerOut, _ := owner.StdoutPipe()
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = owner.Process.Signal(syscall.SIGCONT)
		_ = owner.Process.Kill()
		_ = owner.Wait()
	})
	if line, _ := bufio.NewReader(ownerOut).ReadString('\n'); line != "owned\n" {
		t.Fatalf("the helper did not take the name: %q", line)
	}
	if err := owner.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}

	env := with(procEnv(t), "DBUS_SESSION_BUS_ADDRESS="+addr, "OMNITRAY_HUB_URL=http://127.0.0.1:1")
	began := time.Now()
	r := runProc(t, env, omnitrayBin, "run")
	took := time.Since(began)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], "keyring") {
		t.Fatalf("exit %d, stderr %q: want a one-line keyring error", r.code, r.stderr)
	}
	// The keyring timeout is 5 s; anything near the guard means it hung.
	if took > 15*time.Second {
		t.Fatalf("omnitray run took %v to give up on the keyring", took)
	}
	t.Logf("gave up after %v: %s", took.Round(time.Millisecond), lines[0])
}
