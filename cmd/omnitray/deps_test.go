package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The employee's binary must not carry the hub's cluster engine: the NATS
// server and client are the hub's (sync/hub/cluster, imported only by
// cmd/omnitray-hub). sync/hub, which the demo links, sees the cluster only
// through the hub.Replicas interface.
func TestAgentDoesNotLinkNATS(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		if strings.Contains(dep, "nats-io") || strings.Contains(dep, "/sync/hub/cluster") {
			t.Errorf("cmd/omnitray depends on %s", strings.TrimSpace(dep))
		}
	}
}
