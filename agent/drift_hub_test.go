package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// TestDriftThroughTheHub sets Anna's operator offline the way a person in
// Chaport's own UI would (in the sandbox, not through Omnitray) and checks
// that the agent's read-back, through the real hub's read_operator, sees it,
// says so in the why line and writes online again.
func TestDriftThroughTheHub(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 100_000}})
	if err := sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusOnline); err != nil {
		t.Fatal(err)
	}
	h := hubtest.Serve(t, ctx, hubtest.New(t, sb, `{"min_poll_interval": "50ms", "chats": {"enabled": false}}`, nil))
	tok := hubtest.Token(t, sandbox.SeedStaffAnna)
	a, err := New(Config{HubURL: h.URL, Token: tok, DriftCheck: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.Run(ctx) }()
	states := a.Watch(ctx)

	operator := func() sandbox.OperatorState {
		o, _ := sb.Operator(sandbox.SeedOperatorAnna)
		return o
	}
	waitUntil(t, "Anna's operator online", func() bool { return operator().LastStatus == "online" })
	if err := sb.SetOperatorUIStatus(sandbox.SeedOperatorAnna, "offline"); err != nil {
		t.Fatal(err)
	}
	guard := time.After(15 * time.Second)
	for {
		select {
		case s := <-states:
			if s.Drift == "" {
				continue
			}
			if !strings.Contains(s.Reason, "Chaport shows offline though Omnitray set online") {
				t.Fatalf("why line %q", s.Reason)
			}
			waitUntil(t, "the operator online again", func() bool {
				o := operator()
				return o.LastStatus == "online" && !o.Manual
			})
			return
		case <-guard:
			t.Fatalf("no drift seen; last state %+v, operator %+v", a.State(), operator())
		}
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
