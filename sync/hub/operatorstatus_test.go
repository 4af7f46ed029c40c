package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// firstSnapshot connects as staff, returns the snapshot the hub sends
// first, and hangs up.
func firstSnapshot(t *testing.T, hubURL string, staff int64) feed.Snapshot {
	t.Helper()
	u, _ := feed.WebsocketURL(hubURL, false)
	c, err := feed.NewClient(feed.ClientOptions{URL: u, Token: hubtest.Token(t, staff), MinBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan feed.Event, 16)
	go func() { _ = c.Run(ctx, events) }()
	guard := time.After(15 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Kind == feed.Connected {
				return ev.Snapshot
			}
		case <-guard:
			t.Fatal("no snapshot")
		}
	}
}

// TestSnapshotCarriesChaportStatus: the snapshot says what Chaport shows for
// the employee's operator, from the operator list the hub reads anyway (a
// person's choice in Chaport's own UI shows after the next list read) and
// from the hub's own writes, so that an agent starting while Chaport is
// already offline neither counts down nor writes offline again.
func TestSnapshotCarriesChaportStatus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 100_000}})
	h := hubtest.Serve(t, ctx, hubtest.New(t, sb,
		`{"min_poll_interval": "50ms", "operator_refresh": "100ms", "chats": {"enabled": false}}`, nil))
	h.WaitReady(t, 15*time.Second)

	snapUntil := func(what string, ok func(*feed.ChaportSeen) bool) *feed.ChaportSeen {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			snap := firstSnapshot(t, h.URL, sandbox.SeedStaffAnna)
			if ok(snap.Chaport) {
				return snap.Chaport
			}
			if time.Now().After(deadline) {
				t.Fatalf("no snapshot with %s; last %+v", what, snap.Chaport)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	seen := snapUntil("Chaport offline", func(c *feed.ChaportSeen) bool { return c != nil })
	if seen.RealStatus != "offline" || seen.ReadAt.IsZero() {
		t.Fatalf("seed operator: %+v, want offline with a read time", seen)
	}

	// Set by hand in Chaport: the next list read brings it.
	if err := sb.SetOperatorUIStatus(sandbox.SeedOperatorAnna, "online"); err != nil {
		t.Fatal(err)
	}
	snapUntil("Chaport online", func(c *feed.ChaportSeen) bool { return c != nil && c.RealStatus == "online" })
	if err := sb.SetOperatorUIStatus(sandbox.SeedOperatorAnna, "offline"); err != nil {
		t.Fatal(err)
	}
	snapUntil("Chaport offline again", func(c *feed.ChaportSeen) bool { return c != nil && c.RealStatus == "offline" })
}

// TestSnapshotChaportStatusFollowsTheHubsWrites: a write through the hub
// updates the snapshot at once, without waiting for the operator list.
func TestSnapshotChaportStatusFollowsTheHubsWrites(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 100_000}})
	if err := sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusOnline); err != nil {
		t.Fatal(err)
	}
	h := hubtest.Serve(t, ctx, hubtest.New(t, sb, `{"min_poll_interval": "50ms", "chats": {"enabled": false}}`, nil))
	h.WaitReady(t, 15*time.Second)

	u, _ := feed.WebsocketURL(h.URL, false)
	c, err := feed.NewClient(feed.ClientOptions{URL: u, Token: hubtest.Token(t, sandbox.SeedStaffAnna)})
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	go func() { _ = c.Run(cctx, make(chan feed.Event, 16)) }()
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	defer rcancel()
	for {
		_, err := c.Request(rctx, feed.TypeSetChaport, feed.SetChaport{Status: "online", TTLSeconds: 600})
		if err == nil {
			break
		}
		if rctx.Err() != nil {
			t.Fatalf("write: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // not connected yet
	}
	if got := firstSnapshot(t, h.URL, sandbox.SeedStaffAnna).Chaport; got == nil || got.RealStatus != "online" {
		t.Fatalf("after an online write the snapshot says %+v", got)
	}
}
