package hub_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/sandbox"
)

func TestChatUnknownEventTypesAreLoggedOnce(t *testing.T) {
	fc := clock.NewFake(time.Now())
	s := startChatHub(t, newChatSandbox(t, fc, 0), fc, `{}`)
	anna := connect(t, &s.stack, sandbox.SeedStaffAnna)
	s.nextPoll(t)
	mystery := sandbox.ScriptEvent{Type: "mystery-event", Params: map[string]any{"text": "?"}}
	a := startChat(t, s.sb, "A", []sandbox.ScriptEvent{{Kind: "visitor", Text: "Hi"}, mystery,
		{Kind: "bot", Text: "Hello"}, mystery})
	startChat(t, s.sb, "B", append([]sandbox.ScriptEvent{mystery}, handoverTo(sandbox.SeedOperatorAnna)...))
	wantStats(t, s.nextPoll(t), 1, 1)
	anna.chatEvents(1)
	startChat(t, s.sb, "C", []sandbox.ScriptEvent{mystery, {Kind: "visitor", Text: "Hi"}})
	wantStats(t, s.nextPoll(t), 0, 0)
	// The watcher goes on: a hand-over in the chat with unknown events is seen.
	appendChat(t, s.sb, a.VisitorID, []sandbox.ScriptEvent{mystery, {Kind: "handover", OperatorID: sandbox.SeedOperatorAnna}})
	wantStats(t, s.nextPoll(t), 1, 1)
	if ev := anna.chatEvents(1)[0]; ev.ChatID != a.ChatID || len(ev.Transcript) != 2 {
		t.Fatalf("hand-over %+v", ev)
	}
	logs := s.logs.String()
	if n := strings.Count(logs, "mystery-event"); n != 1 || !strings.Contains(logs, "unknown Chaport event type") {
		t.Fatalf("unknown type logged %d times:\n%s", n, logs)
	}
}

// TestChatFloodIsBounded: 1,000 hand-overs within one poll interval. The
// watcher is set to look at all of them (visitors_per_poll 1000, ten pages
// of 100): each is recognised and remembered once, but each agent gets at
// most max_pushes_per_poll (40) messages per poll, the rest being logged,
// so the agent's send queue (64 frames) never overflows.
func TestChatFloodIsBounded(t *testing.T) {
	fc := clock.NewFake(time.Now())
	s := startChatHub(t, newChatSandbox(t, fc, 100), fc, `{"chats": {"visitors_per_poll": 1000}}`)
	anna, boris := connect(t, &s.stack, sandbox.SeedStaffAnna), connect(t, &s.stack, sandbox.SeedStaffBoris)
	s.nextPoll(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 1000 {
		startChat(t, s.sb, fmt.Sprintf("Visitor %d", i), handoverTo(sandbox.SeedOperatorAnna))
	}
	st := s.nextPoll(t)
	if st.Err != nil || st.Visitors != 1000 || st.ChatReads != 1000 || st.Announced != 1000 ||
		st.Pushed != 40 || st.Suppressed != 960 || st.Remembered != 1000 {
		t.Fatalf("flood poll: %+v", st)
	}
	anna.chatEvents(40)
	boris.chatEvents(0)
	st = s.nextPoll(t) // open chats are read again, with nothing new in them
	if st.ChatReads != 1000 || st.Announced != 0 || st.Pushed != 0 || st.Remembered != 1000 {
		t.Fatalf("poll after the flood: %+v", st)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap %d KiB → %d KiB (%+d KiB, sandbox's 1,000 chats included); %d Chaport calls",
		before.HeapAlloc>>10, after.HeapAlloc>>10, growth>>10, len(s.sb.Calls("chaport", 0)))
	if growth > 64<<20 {
		t.Fatalf("heap grew by %d MiB", growth>>20)
	}
	if !strings.Contains(s.logs.String(), "not_pushed=960") {
		t.Fatalf("the dropped messages were not logged:\n%s", s.logs.String())
	}
}

// TestChatFloodDefaultWindow: by default only the 20 visitors with the
// newest chats are watched, so a flood is cut to its newest 20 hand-overs.
func TestChatFloodDefaultWindow(t *testing.T) {
	fc := clock.NewFake(time.Now())
	s := startChatHub(t, newChatSandbox(t, fc, 0), fc, `{}`)
	anna := connect(t, &s.stack, sandbox.SeedStaffAnna)
	s.nextPoll(t)
	for i := range 1000 {
		startChat(t, s.sb, fmt.Sprintf("Visitor %d", i), handoverTo(sandbox.SeedOperatorAnna))
	}
	st := s.nextPoll(t)
	if st.Visitors != 20 || st.ChatReads != 20 || st.Announced != 20 || st.Pushed != 20 || st.Suppressed != 0 {
		t.Fatalf("flood poll: %+v", st)
	}
	anna.chatEvents(20)
}

// chatReads counts reads of each visitor's latest chat since seq.
func chatReads(sb *sandbox.Sandbox, since int) map[string]int {
	out := map[string]int{}
	for _, c := range sb.Calls("chaport", since) {
		if vid, ok := strings.CutSuffix(strings.TrimPrefix(c.Path, "/api/v1/visitors/"), "/chats"); ok && !strings.Contains(vid, "/") {
			out[vid]++
		}
	}
	return out
}

func lastSeq(sb *sandbox.Sandbox) int {
	calls := sb.Calls("", 0)
	return calls[len(calls)-1].Seq
}

func TestChatClosedUnchangedChatsAreNotReread(t *testing.T) {
	fc := clock.NewFake(time.Now())
	s := startChatHub(t, newChatSandbox(t, fc, 0), fc, `{}`)
	s.nextPoll(t)
	closed := []sandbox.ScriptEvent{{Kind: "visitor", Text: "Hi"}, {Kind: "bot", Text: "Bye"}, {Kind: "close"}}
	// Created at one instant, the list shows them in this order: a on top.
	a, b, c := startChat(t, s.sb, "A", closed), startChat(t, s.sb, "B", closed), startChat(t, s.sb, "C", closed)
	d := startChat(t, s.sb, "D", closed[:2]) // open
	seq := lastSeq(s.sb)
	if st := s.nextPoll(t); st.ChatReads != 4 {
		t.Fatalf("first look: %+v", st)
	}
	seq = lastSeq(s.sb)
	// Unchanged: the open chat and the one on top (whose activity cannot
	// show in the order) are read again; the other closed ones are not.
	st := s.nextPoll(t)
	reads := chatReads(s.sb, seq)
	if st.ChatReads != 2 || reads[a.VisitorID] != 1 || reads[d.VisitorID] != 1 || reads[b.VisitorID]+reads[c.VisitorID] != 0 {
		t.Fatalf("unchanged poll %+v read %v", st, reads)
	}
	// C comes back and moves to the top: it is read; B is still not.
	appendChat(t, s.sb, c.VisitorID, []sandbox.ScriptEvent{{Kind: "visitor", Text: "One more thing"}})
	seq = lastSeq(s.sb)
	st = s.nextPoll(t)
	reads = chatReads(s.sb, seq)
	if st.ChatReads != 3 || reads[c.VisitorID] != 1 || reads[a.VisitorID] != 1 || reads[b.VisitorID] != 0 {
		t.Fatalf("after C moved up: %+v read %v", st, reads)
	}
}

func TestChatRateLimitBacksOff(t *testing.T) {
	fc := clock.NewFake(time.Now())
	s := startChatHub(t, newChatSandbox(t, fc, 0), fc, `{}`)
	anna := connect(t, &s.stack, sandbox.SeedStaffAnna)
	s.nextPoll(t)
	if err := s.sb.SetFaults("chaport", sandbox.Faults{Next: []string{"429", "500"}, RetryAfterSeconds: 45}); err != nil {
		t.Fatal(err)
	}
	startChat(t, s.sb, "Patient", handoverTo(sandbox.SeedOperatorAnna))
	var at []time.Time
	for range 3 {
		st := s.nextPoll(t)
		at = append(at, s.fc.Now())
		if st.Err == nil && len(at) < 3 {
			t.Fatalf("poll %d did not fail: %+v", len(at), st)
		}
	}
	if gap := at[1].Sub(at[0]); gap < 45*time.Second {
		t.Fatalf("polled again %v after a 429 asking for 45s", gap)
	}
	if gap := at[2].Sub(at[1]); gap != 10*time.Second {
		t.Fatalf("after a 500 the next poll came %v later, want the interval", gap)
	}
	if ev := anna.chatEvents(1)[0]; ev.Kind != feed.ChatHandover {
		t.Fatalf("after recovery: %+v", ev)
	}
	logs := s.logs.String()
	if strings.Count(logs, "reading Chaport chats failed") != 1 || strings.Count(logs, "works again") != 1 {
		t.Fatalf("failure streak logged wrongly:\n%s", logs)
	}
}
