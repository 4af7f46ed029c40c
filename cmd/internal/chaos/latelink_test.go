package chaos

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/cmd/internal/sandboxlog"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// TestAgentLearnsLateOperatorLink pins down, in small, a fault the chaos run
// found: a hub whose first read of the Chaport operators fails (here one
// injected 500) links nobody until its retry 5 s later, and the agents that
// connect meanwhile get a snapshot without an operator. Once the retry has
// linked them the hub writes their operators, so it must also tell the
// agents (a fresh snapshot, as the feed protocol allows "after a re-link");
// otherwise they go on saying "not linked" until they reconnect.
func TestAgentLearnsLateOperatorLink(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: budgetPerMinute}})
	defer sb.Close()
	// The first Chaport call is the hub's operator list: fail it once.
	if err := sb.SetFaults("chaport", sandbox.Faults{Next: []string{sandbox.FaultServerError}}); err != nil {
		t.Fatal(err)
	}
	hubs := newHubRunner(t, sb, 1)
	if err := hubs.startAll(); err != nil {
		t.Fatal(err)
	}
	defer hubs.stop()
	<-hubs.lives[0].readyDone

	tok, err := hub.Sign(hubSecret, sandbox.SeedStaffAnna, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{HubURL: hubs.urls(0), Token: tok, Grace: time.Second,
		Lease: leaseTTL, Logger: slog.New(slog.DiscardHandler),
		Feed: feed.ClientOptions{MinBackoff: minBackoff, MaxBackoff: maxBackoff}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()

	// Anna is Offline in the seed: once the hub has linked her operator, the
	// agent's offline write goes through, or (the fresh snapshot showing
	// Chaport offline already) is no longer needed.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := a.State()
		written := st.Operator != nil && st.Operator.ID == sandbox.SeedOperatorAnna && st.Chaport == "offline" && st.LastError == ""
		for _, c := range sb.Calls("chaport", 0) {
			if op, ok := sandboxlog.StatusWritePath(c); ok && op == sandbox.SeedOperatorAnna && c.Status == 200 {
				written = true
			}
		}
		if written {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Chaport write for Anna's operator within 20 s; agent state: %+v", a.State())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The hub writes her operator, so it is linked: the agent should say so
	// (a second is plenty for a pushed snapshot).
	time.Sleep(time.Second)
	st := a.State()
	if st.Connection != agent.Connected {
		t.Fatalf("agent %s (%s)", st.Connection, st.ConnError)
	}
	if st.Operator == nil || st.Operator.ID != sandbox.SeedOperatorAnna {
		t.Errorf("the hub writes operator %s for Anna, but her agent shows operator %v (\"not linked\")",
			sandbox.SeedOperatorAnna, st.Operator)
	}
}
