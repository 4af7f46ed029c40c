package hub_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/internal/syncbuf"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// These tests are finding 6 of issue 10: staff ↔ operator links used to be
// re-derived from the current Omnidesk e-mail on every poll, so a staff
// member whose e-mail was changed to a colleague's address could write the
// colleague's Chaport operator with their own token.

const linksHubFile = `{"min_poll_interval": "20ms", "chats": {"enabled": false}}`

// linkStack is a hub on the real clock over a fresh sandbox, logging to a
// buffer the test reads.
type linkStack struct {
	stack
	logs *syncbuf.Buffer
	run  *hubtest.Running
}

func startLinkHub(t *testing.T, sb *sandbox.Sandbox, stateDir string) *linkStack {
	t.Helper()
	logs := &syncbuf.Buffer{}
	h := hubtest.New(t, sb, linksHubFile, func(c *hub.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		c.StateDir = stateDir
	})
	r := hubtest.Serve(t, context.Background(), h)
	r.WaitReady(t, 15*time.Second)
	return &linkStack{stack: stack{sb: sb, hub: h, hubURL: r.URL}, logs: logs, run: r}
}

func linkSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 1_000_000}})
}

// snapshotOf connects a fresh agent for staff and returns the snapshot the
// hub greets it with.
func snapshotOf(t *testing.T, s *linkStack, staff int64) feed.Snapshot {
	t.Helper()
	u, _ := feed.WebsocketURL(s.hubURL, false)
	c, err := feed.NewClient(feed.ClientOptions{URL: u, Token: hubtest.Token(t, staff), MinBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events := make(chan feed.Event, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, events)
	}()
	defer func() {
		cancel()
		<-done
	}()
	for {
		select {
		case ev := <-events:
			if ev.Kind == feed.Connected {
				return ev.Snapshot
			}
		case <-ctx.Done():
			t.Fatalf("staff %d: no snapshot", staff)
		}
	}
}

// waitSnapshot waits until a fresh agent's snapshot for staff satisfies ok.
func waitSnapshot(t *testing.T, s *linkStack, staff int64, what string, ok func(feed.Snapshot) bool) feed.Snapshot {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		snap := snapshotOf(t, s, staff)
		if ok(snap) {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("staff %d: %s never showed; last snapshot %+v (operator %+v)", staff, what, snap, snap.Operator)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// linkedTo is a snapshot check: linked to op, and the hub has read Chaport's
// operator list (the name comes from it, not from the pin or the config).
func linkedTo(op string) func(feed.Snapshot) bool {
	return func(s feed.Snapshot) bool { return s.Operator != nil && s.Operator.ID == op && s.Operator.Name != "" }
}

// writesTo counts accepted Chaport status writes to operator op.
func writesTo(sb *sandbox.Sandbox, op string) int {
	n := 0
	for _, c := range sb.Calls("chaport", 0) {
		if c.Method == "POST" && c.Path == "/api/v1/operators/"+op+"/status" && c.Status == 200 {
			n++
		}
	}
	return n
}

func setEmail(t *testing.T, sb *sandbox.Sandbox, staff int64, email string) {
	t.Helper()
	if err := sb.SetStaffEmail(staff, email); err != nil {
		t.Fatal(err)
	}
}

// logLines are the lines of the hub's log that contain every one of parts.
func logLines(s *linkStack, parts ...string) []string {
	var out []string
	for line := range strings.Lines(s.logs.String()) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

// The attack of finding 6 on a running hub: Chen (203) is linked to his
// operator, then his Omnidesk e-mail becomes Boris's address. His token must
// still not write Boris's operator; Boris's must.
func TestEmailChangeDoesNotMoveAPinnedLink(t *testing.T) {
	sb := linkSandbox(t)
	s := startLinkHub(t, sb, t.TempDir())
	waitSnapshot(t, s, sandbox.SeedStaffChen, "Chen's own operator", linkedTo(sandbox.SeedOperatorChen))
	waitSnapshot(t, s, sandbox.SeedStaffBoris, "Boris's own operator", linkedTo(sandbox.SeedOperatorBoris))
	chen := connect(t, &s.stack, sandbox.SeedStaffChen)
	boris := connect(t, &s.stack, sandbox.SeedStaffBoris)

	setEmail(t, sb, sandbox.SeedStaffChen, "boris@acme.test")
	waitSnapshot(t, s, sandbox.SeedStaffChen, "the new e-mail", func(snap feed.Snapshot) bool {
		return snap.Staff.Email == "boris@acme.test"
	})

	offline := func(op string) feed.SetChaport {
		return feed.SetChaport{Status: "offline", TTLSeconds: 60, OperatorID: op}
	}
	_, err := chen.request(feed.TypeSetChaport, offline(sandbox.SeedOperatorBoris))
	wantCode(t, err, feed.CodeForbidden)
	// Without an operator id the hub writes Chen's own, pinned operator.
	if _, err := chen.request(feed.TypeSetChaport, offline("")); err != nil {
		t.Fatal(err)
	}
	if n := writesTo(sb, sandbox.SeedOperatorBoris); n != 0 {
		t.Fatalf("Chen's token wrote Boris's operator %d times", n)
	}
	if n := writesTo(sb, sandbox.SeedOperatorChen); n != 1 {
		t.Fatalf("%d writes to Chen's operator, want 1", n)
	}
	if _, err := boris.request(feed.TypeSetChaport, offline(sandbox.SeedOperatorBoris)); err != nil {
		t.Fatalf("Boris writing his own operator: %v", err)
	}
	if n := writesTo(sb, sandbox.SeedOperatorBoris); n != 1 {
		t.Fatalf("%d writes to Boris's operator, want 1", n)
	}

	// The log says so, naming both operators, once however many polls
	// see the same e-mail.
	warn := []string{"level=WARN", "staff=203", sandbox.SeedOperatorChen, sandbox.SeedOperatorBoris}
	waitFor(t, "the moved e-mail warning", func() bool { return len(logLines(s, warn...)) > 0 })
	time.Sleep(300 * time.Millisecond) // several polls at 20 ms
	if got := logLines(s, warn...); len(got) != 1 {
		t.Fatalf("want the warning once, got %d:\n%s", len(got), strings.Join(got, ""))
	}
}

// Pins outlive the hub: a hub started after the e-mail changed, on the same
// state directory, keeps the links the last one pinned.
func TestPinnedLinksSurviveARestart(t *testing.T) {
	sb := linkSandbox(t)
	dir := t.TempDir()
	first := startLinkHub(t, sb, dir)
	waitSnapshot(t, first, sandbox.SeedStaffChen, "Chen's own operator", linkedTo(sandbox.SeedOperatorChen))
	waitSnapshot(t, first, sandbox.SeedStaffBoris, "Boris's own operator", linkedTo(sandbox.SeedOperatorBoris))
	first.run.Stop()
	path := filepath.Join(dir, hub.LinksFileName)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("links file after a clean stop: %v, %v", fi, err)
	}

	setEmail(t, sb, sandbox.SeedStaffChen, "boris@acme.test")
	second := startLinkHub(t, sb, dir)
	waitSnapshot(t, second, sandbox.SeedStaffChen, "the new e-mail, and Chen's pinned operator", func(snap feed.Snapshot) bool {
		return snap.Staff.Email == "boris@acme.test" && linkedTo(sandbox.SeedOperatorChen)(snap)
	})
	waitSnapshot(t, second, sandbox.SeedStaffBoris, "Boris's own operator", linkedTo(sandbox.SeedOperatorBoris))
	chen := connect(t, &second.stack, sandbox.SeedStaffChen)
	_, err = chen.request(feed.TypeSetChaport, feed.SetChaport{Status: "offline", TTLSeconds: 60, OperatorID: sandbox.SeedOperatorBoris})
	wantCode(t, err, feed.CodeForbidden)
	if n := writesTo(sb, sandbox.SeedOperatorBoris); n != 0 {
		t.Fatalf("Chen's token wrote Boris's operator %d times", n)
	}
}

// Two staff with one operator's e-mail, and no pin to settle it: neither is
// linked, and the log says why.
func TestDuplicateEmailLinksNeither(t *testing.T) {
	sb := linkSandbox(t)
	setEmail(t, sb, sandbox.SeedStaffChen, "BORIS@acme.test") // e-mails match case-insensitively
	s := startLinkHub(t, sb, "")
	why := []string{"level=WARN", sandbox.SeedOperatorBoris, "202", "203"}
	waitFor(t, "the duplicate e-mail warning", func() bool { return len(logLines(s, why...)) > 0 })
	waitSnapshot(t, s, sandbox.SeedStaffAnna, "Anna's own operator", linkedTo(sandbox.SeedOperatorAnna))
	for _, staff := range []int64{sandbox.SeedStaffBoris, sandbox.SeedStaffChen} {
		if snap := snapshotOf(t, s, staff); snap.Operator != nil {
			t.Errorf("staff %d linked to %+v", staff, *snap.Operator)
		}
		a := connect(t, &s.stack, staff)
		_, err := a.request(feed.TypeSetChaport, feed.SetChaport{Status: "offline", TTLSeconds: 60})
		wantCode(t, err, feed.CodeNotLinked)
	}
	if n := writesTo(sb, sandbox.SeedOperatorBoris); n != 0 {
		t.Fatalf("Boris's operator written %d times", n)
	}
	time.Sleep(300 * time.Millisecond) // several polls at 20 ms
	if got := logLines(s, why...); len(got) != 1 {
		t.Fatalf("want the duplicate warning once, got %d:\n%s", len(got), strings.Join(got, ""))
	}
}

// A hub whose pins cannot be read refuses to start: starting without them
// would link everyone again from their current e-mail.
func TestHubRefusesToStartOnACorruptLinksFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, hub.LinksFileName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := hubtest.Build(hub.Vendors{OmnideskURL: "http://127.0.0.1:1", OmnideskEmail: "a@b.c", OmnideskAPIKey: "k",
		ChaportURL: "http://127.0.0.1:1", ChaportToken: "t"}, `{}`, func(c *hub.Config) { c.StateDir = dir })
	if err == nil || !strings.Contains(err.Error(), hub.LinksFileName) {
		t.Fatalf("New with a corrupt links file: %v", err)
	}
}
