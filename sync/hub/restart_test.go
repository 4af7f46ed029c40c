package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// A hub that stops cleanly leaves the Omnidesk budget it learned; the next
// one paces by it from its first call, even when that call fails and says
// nothing about the budget (the case that used to cost a 12 s slot).
func TestRestartedHubKeepsTheLearnedBudget(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 240}})
	budgetFile := filepath.Join(t.TempDir(), "omnidesk-budget.json")
	newHub := func() *hub.Hub {
		return hubtest.New(t, sb, `{"chats": {"enabled": false}, "min_poll_interval": "100ms"}`,
			func(c *hub.Config) { c.BudgetFile = budgetFile })
	}

	first := hubtest.Serve(t, ctx, newHub())
	first.WaitReady(t, 15*time.Second)
	if got := hub.PaceInterval(first.Hub); got != time.Second {
		t.Fatalf("first hub paces at %v, want 1s (240 a minute, 25 %%)", got)
	}
	first.Stop()
	if fi, err := os.Stat(budgetFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("budget file after a clean stop: %v, %v", fi, err)
	}

	// The next hub's Omnidesk calls all fail, with no budget headers.
	if err := sb.SetFaults("omnidesk", sandbox.Faults{Rate: 1, Kinds: []string{"reset"}}); err != nil {
		t.Fatal(err)
	}
	second := hubtest.Serve(t, ctx, newHub()) // stopped (and saved) before t.TempDir goes
	// Without the saved budget it would pace at the smallest plan's 12 s
	// for as long as every call fails.
	waitFor(t, "the restarted hub pacing at the learned 1s", func() bool {
		return hub.PaceInterval(second.Hub) == time.Second
	})
	if _, err := os.Stat(budgetFile); !os.IsNotExist(err) {
		t.Fatalf("the budget file outlived its reading: %v", err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
