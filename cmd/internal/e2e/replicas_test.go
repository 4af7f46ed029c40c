package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAgentFailsOverToAnotherHub runs two hubs with the same secret (as
// replicas would be) and an agent given both, after an address where
// nothing listens: it skips the dead address, connects to the first hub,
// and when that hub is killed, to the other; `omnitray status` names the
// hub it is on. How fast is the feed package's tests' business (on a fake
// clock), not this one's.
func TestAgentFailsOverToAnotherHub(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	addrB := freePort(t)
	hubB := startProc(t, with(s.hubEnv, "OMNITRAY_HUB_LISTEN="+addrB, "OMNITRAY_HUB_STATE_DIR="+t.TempDir()),
		hubBin, "serve")
	urlB := "http://" + addrB
	waitFor(t, "the second hub's /healthz", func() bool {
		if hubB.exited() {
			t.Fatalf("the second hub exited (code %d): %s", hubB.exitCode(), hubB.stderr.String())
		}
		resp, err := httpc.Get(urlB + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	dead := "http://" + freePort(t)

	env := with(s.env, "OMNITRAY_TOKEN="+s.token(staffBoris), "OMNITRAY_HUB_URL="+dead+", "+s.hubURL+" ,"+urlB)
	agent := startProc(t, env, omnitrayBin, "run", "--headless")
	hubOf := func() (conn, hub string) {
		if agent.exited() {
			t.Fatalf("the agent exited (code %d): %s", agent.exitCode(), agent.stderr.String())
		}
		r := runProc(t, s.env, omnitrayBin, "status", "--json")
		var st struct {
			Connection string `json:"connection"`
			Hub        string `json:"hub"`
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil {
			return "", ""
		}
		return st.Connection, st.Hub
	}
	waitFor(t, "the agent on the first hub", func() bool {
		conn, hub := hubOf()
		return conn == "connected" && hub == s.hubURL
	})
	s.hub.kill()
	waitFor(t, "the agent on the second hub", func() bool {
		conn, hub := hubOf()
		return conn == "connected" && hub == urlB
	})
	out := agent.stderr.String()
	for _, want := range []string{"not connected to " + dead + " yet", "hub=" + urlB} {
		if !strings.Contains(out, want) {
			t.Errorf("the agent's log lacks %q:\n%s", want, out)
		}
	}
	if r := runProc(t, s.env, omnitrayBin, "status"); !strings.Contains(r.stdout, "connected to "+urlB) {
		t.Errorf("omnitray status does not name the hub:\n%s", r.stdout)
	}
}
