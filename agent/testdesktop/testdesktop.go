// Package testdesktop is the desktop tests' one harness: the gate (Need),
// buses (SessionBus, PrivateBus), the fakes of the services the agent reads
// (FakeLogind, FakeScreenSaver) and the tray and notification helpers the
// end-to-end tests drive.
//
// Tests that need a real session bus, keyring, tray host or notification
// daemon call Need first. Under plain `make test` (no session) they skip;
// under `make test-desktop`, which sets OMNITRAY_DESKTOP_TESTS=1 and runs
// inside .ci/desktop-session.sh, a missing session is a failure, so CI
// cannot pass by skipping everything.
package testdesktop

import (
	"os"
	"testing"
)

// Required reports whether the desktop tests were asked for.
func Required() bool { return os.Getenv("OMNITRAY_DESKTOP_TESTS") == "1" }

// Need skips (plain `make test`) or fails (`make test-desktop`) when the
// private desktop session is not there. what names the parts the test uses,
// for the message.
func Need(t testing.TB, what ...string) {
	t.Helper()
	missing := ""
	switch {
	case os.Getenv("DESKTOP_SESSION_DIR") == "":
		missing = "DESKTOP_SESSION_DIR"
	case os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "":
		missing = "DBUS_SESSION_BUS_ADDRESS"
	}
	for _, w := range what {
		if missing != "" {
			break
		}
		switch w {
		case "display":
			if os.Getenv("DISPLAY") == "" {
				missing = "DISPLAY"
			}
		case "system-bus":
			if os.Getenv("DBUS_SYSTEM_BUS_ADDRESS") == "" {
				missing = "DBUS_SYSTEM_BUS_ADDRESS"
			}
		}
	}
	if missing == "" {
		return
	}
	if Required() {
		t.Fatalf("desktop session missing (%s unset): run under .ci/desktop-session.sh run -- …", missing)
	}
	t.Skipf("no desktop session (%s unset); `make test-desktop` runs this test", missing)
}
