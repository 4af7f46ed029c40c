package sandbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/omnidesk"
	"github.com/omnitray/omnitray/sync/sandbox"
	"github.com/omnitray/omnitray/sync/vendorapi"
)

// These tests run the real clients against the fakes. The clients' own tests
// replay the documented shapes byte for byte, and the fakes' tests check their
// strictness; together they keep both tied to docs/vendor-contract.md rather
// than to each other.

func start(t *testing.T, cfg sandbox.Config) (*sandbox.Sandbox, *chaport.Client, *omnidesk.Client) {
	t.Helper()
	cfg.Clock = clock.NewFake(time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC))
	sb := sandbox.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := sb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cc, err := chaport.New(chaport.Config{BaseURL: sb.ChaportURL, Token: sandbox.DefaultChaportToken, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	oc, err := omnidesk.New(omnidesk.Config{BaseURL: sb.OmnideskURL, Email: sandbox.DefaultOmnideskEmail,
		APIKey: sandbox.DefaultOmnideskAPIKey, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return sb, cc, oc
}

func TestChaportClientAgainstSandbox(t *testing.T) {
	sb, cc, _ := start(t, sandbox.Config{})
	ctx := context.Background()
	if _, err := cc.Me(ctx); err != nil {
		t.Fatal(err)
	}
	ops, err := cc.ListOperators(ctx)
	if err != nil || len(ops) != 3 || ops[1].Email != "boris@acme.test" || ops[1].RealStatus != chaport.Offline {
		t.Fatalf("operators %+v, %v", ops, err)
	}
	op, err := cc.SetOperatorStatus(ctx, sandbox.SeedOperatorChen, chaport.Online, 90*time.Second)
	if err != nil || op.LastStatus != chaport.Online || op.RealStatus != chaport.Online {
		t.Fatalf("status write: %+v, %v", op, err)
	}
	sb.Advance(91 * time.Second)
	op, err = cc.GetOperator(ctx, sandbox.SeedOperatorChen)
	if err != nil || op.RealStatus != chaport.Offline || op.LastStatus != chaport.Online {
		t.Fatalf("after the lease: %+v, %v", op, err)
	}
	until := sb.Now().Add(time.Minute)
	if op, err = cc.SetOperatorStatusUntil(ctx, sandbox.SeedOperatorChen, chaport.Invisible, until); err != nil || op.RealStatus != chaport.Invisible {
		t.Fatalf("valid-until write: %+v, %v", op, err)
	}
	if _, err := cc.GetOperator(ctx, "5f1a2b3c4d5e6f7081920aff"); !errors.Is(err, vendorapi.ErrNotFound) {
		t.Fatalf("unknown operator: %v", err)
	}
	if _, err := cc.SetOperatorStatus(ctx, sandbox.SeedOperatorChen, "away", time.Minute); !errors.Is(err, vendorapi.ErrBadRequest) {
		t.Fatalf("status outside the allowed set: %v", err)
	}
}

func TestChaportClientReadsScriptedChat(t *testing.T) {
	sb, cc, _ := start(t, sandbox.Config{Chaport: sandbox.ChaportSettings{VisitorsPageSize: 1}})
	ctx := context.Background()
	first, err := sb.StartChat("Old visitor", "", []sandbox.ScriptEvent{{Kind: "visitor", Text: "earlier"}})
	if err != nil {
		t.Fatal(err)
	}
	sb.Advance(time.Second)
	sc, err := sb.StartChat("Maria", "maria@example.com", []sandbox.ScriptEvent{
		{Kind: "visitor", Text: "Hi"},
		{Kind: "bot", Bot: "Helper Bot", Text: "How can I help?"},
		{Kind: "visitor", Text: "Talk to a human"},
		{Type: "page-opened", Params: map[string]any{"url": "https://acme.test/"}},
		{Kind: "handover", OperatorID: sandbox.SeedOperatorAnna},
		{Kind: "operator", OperatorID: sandbox.SeedOperatorAnna, Text: "Hello!"},
	})
	if err != nil {
		t.Fatal(err)
	}
	page, err := cc.ListVisitors(ctx, 1)
	if err != nil || len(page.Visitors) != 1 || page.Visitors[0].ID != sc.VisitorID || page.Next == "" {
		t.Fatalf("page 1 (newest first): %+v, %v", page, err)
	}
	page, err = cc.ListVisitors(ctx, 2)
	if err != nil || len(page.Visitors) != 1 || page.Visitors[0].ID != first.VisitorID || page.Next != "" {
		t.Fatalf("page 2: %+v, %v", page, err)
	}
	chat, err := cc.LatestChat(ctx, sc.VisitorID)
	if err != nil || chat.ID != sc.ChatID || chat.Stage != "engaged" || len(chat.Operators) != 1 {
		t.Fatalf("latest chat: %+v, %v", chat, err)
	}
	evs, err := cc.ChatEvents(ctx, sc.VisitorID, sc.ChatID)
	if err != nil || len(evs) != 6 {
		t.Fatalf("events: %+v, %v", evs, err)
	}
	wantTypes := []string{"visitor-message", "bot-message", "visitor-message", "page-opened", "operator-joined", "operator-message"}
	for i, e := range evs {
		if e.Type != wantTypes[i] || e.At.IsZero() {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	if evs[1].BotName != "Helper Bot" || evs[1].Text != "How can I help?" || evs[5].OperatorID != sandbox.SeedOperatorAnna {
		t.Fatalf("event params: %+v", evs)
	}
	if _, err := cc.GetChat(ctx, sc.VisitorID, 1); !errors.Is(err, vendorapi.ErrNotFound) {
		t.Fatalf("unknown chat: %v", err)
	}
}

func TestOmnideskClientAgainstSandbox(t *testing.T) {
	sb, _, oc := start(t, sandbox.Config{})
	ctx := context.Background()
	staff, err := oc.AllStaff(ctx)
	if err != nil || len(staff) != 3 || staff[0].ID != sandbox.SeedStaffAnna || staff[0].StatusID != sandbox.StatusOffline {
		t.Fatalf("staff: %+v, %v", staff, err)
	}
	if staff[0].CreatedAt.IsZero() {
		t.Fatal("created_at not parsed")
	}
	sts, err := oc.StaffStatuses(ctx)
	if err != nil || len(sts) != 6 || sts[4].ID != sandbox.StatusLunch || sts[4].Name != "Обед" {
		t.Fatalf("statuses: %+v, %v", sts, err)
	}
	// Like the documented update reply, the sandbox's has no status: the
	// caller must read the staff member back.
	if rec, err := oc.SetStaffStatus(ctx, sandbox.SeedStaffBoris, sandbox.StatusChatDuty); err != nil || rec != nil {
		t.Fatalf("switch: record %+v, %v; want none (no status in the reply)", rec, err)
	}
	one, err := oc.GetStaff(ctx, sandbox.SeedStaffBoris)
	if err != nil || one.StatusID != sandbox.StatusChatDuty {
		t.Fatalf("after switch: %+v, %v", one, err)
	}
	lim := oc.Limits()
	if !lim.Known || lim.PerMinute != 20 || lim.CallsLeft != 20-1-1-2-1 {
		t.Fatalf("limits %+v", lim)
	}
	if _, err := oc.GetStaff(ctx, 999); !errors.Is(err, vendorapi.ErrNotFound) {
		t.Fatalf("unknown staff: %v", err)
	}
	if _, err := oc.SetStaffStatus(ctx, sandbox.SeedStaffBoris, 424242); !errors.Is(err, vendorapi.ErrBadRequest) {
		t.Fatalf("unknown status: %v", err)
	}
	for range 20 {
		if _, err = oc.GetStaff(ctx, sandbox.SeedStaffAnna); err != nil {
			break
		}
	}
	if wait, ok := vendorapi.RetryAfter(err); !errors.Is(err, vendorapi.ErrRateLimited) || !ok || wait != 30*time.Second {
		t.Fatalf("over budget: %v (wait %v)", err, wait)
	}
	_ = sb
}

func TestClientsSeeInjectedFaults(t *testing.T) {
	sb, cc, oc := start(t, sandbox.Config{})
	ctx := context.Background()
	if err := sb.SetFaults("chaport", sandbox.Faults{Next: []string{"500", "429", "reset", "reset"}, RetryAfterSeconds: 7}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []error{vendorapi.ErrServer, vendorapi.ErrRateLimited, vendorapi.ErrUnavailable} {
		_, err := cc.ListOperators(ctx)
		if !errors.Is(err, want) {
			t.Fatalf("want %v, got %v", want, err)
		}
		if want == vendorapi.ErrRateLimited {
			if d, _ := vendorapi.RetryAfter(err); d != 7*time.Second {
				t.Fatalf("Retry-After %v", d)
			}
		}
	}
	if _, err := cc.ListOperators(ctx); err != nil {
		t.Fatalf("after the scripted faults: %v", err)
	}
	if err := sb.SetFaults("omnidesk", sandbox.Faults{Next: []string{"429"}, RetryAfterSeconds: 11}); err != nil {
		t.Fatal(err)
	}
	_, err := oc.StaffStatuses(ctx)
	if d, _ := vendorapi.RetryAfter(err); !errors.Is(err, vendorapi.ErrRateLimited) || d != 11*time.Second {
		t.Fatalf("omnidesk injected 429: %v", err)
	}
	calls := sb.Calls("chaport", 0)
	// Go's transport retries an idempotent GET once when a reused connection
	// is reset before any reply, hence two resets for one error.
	if len(calls) != 5 || calls[3].Fault != "reset" || calls[3].Status != 0 {
		t.Fatalf("call log %+v", calls)
	}
}
