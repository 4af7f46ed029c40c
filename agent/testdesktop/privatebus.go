package testdesktop

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// privateBusConfig lets anything own any name and nothing be activated, so
// no real daemon (a keyring prompter, a notification server) starts by
// itself on a test's own bus.
const privateBusConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// PrivateBus starts a dbus-daemon of the test's own, gone when the test
// ends, and returns its address and its directory. Tests that run side by
// side with other packages use it so that their fakes' well-known names
// and signals meet nobody else's. Without a dbus-daemon binary the test is
// skipped, or fails under `make test-desktop`.
func PrivateBus(t testing.TB) (addr, dir string) {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		if Required() {
			t.Fatalf("no dbus-daemon: %v", err)
		}
		t.Skip("no dbus-daemon binary")
	}
	// A short directory: a socket path holds about 100 bytes.
	dir, err = os.MkdirTemp("", "omnitray-bus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(strings.Replace(privateBusConfig, "SOCKET", filepath.Join(dir, "bus"), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dbus-daemon: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the bus address: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	return strings.TrimSpace(line), dir
}
