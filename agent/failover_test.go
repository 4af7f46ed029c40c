package agent

import (
	"strings"
	"testing"
)

// An agent given the hub's replicas as a list connects to the first, and
// when that one drops it, to the next at once: the fake clock never moves,
// so no backoff was waited. The state says which replica it is on.
func TestAgentFailsOverBetweenHubReplicas(t *testing.T) {
	a, b := newFakeHub(t, 1), newFakeHub(t, 1)
	h := startAgentOn(t, a, func(c *Config) { c.HubURL = a.srv.URL + " , " + b.srv.URL })
	s := h.waitState("connected to the first replica", func(s State) bool { return s.Connection == Connected })
	if s.Hub != a.srv.URL {
		t.Fatalf("connected to %q, want the first replica %s", s.Hub, a.srv.URL)
	}
	if out := s.Format(h.clock.Now()); !strings.Contains(out, "connected to "+a.srv.URL) {
		t.Fatalf("status does not name the replica:\n%s", out)
	}
	a.expectWrite("online")
	a.drop()
	h.waitState("connected to the second replica", func(s State) bool {
		return s.Connection == Connected && s.Hub == b.srv.URL
	})
	// What the new replica says is what the agent goes by.
	b.push(2)
	h.waitStatus(2)
}

func TestNewRefusesABadHubList(t *testing.T) {
	for _, tc := range []struct{ list, want string }{
		{"https://a.acme.example,,https://b.acme.example", "hub URL 2 of 3 is empty"},
		{"https://a.acme.example,http://secret.acme.example", "hub URL 2 of 2: plain http to secret.acme.example"},
		{" ", "hub URL is empty"},
	} {
		_, err := New(Config{HubURL: tc.list, Token: "tok"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(HubURL %q) = %v, want an error with %q", tc.list, err, tc.want)
		}
	}
}
