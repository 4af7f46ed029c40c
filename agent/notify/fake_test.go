package notify

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestFake(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	acts := []Action{{Key: "stay-online", Label: "Stay online 5 min"}}
	if err := f.Notify(ctx, Notification{Topic: "offline-soon", Title: "Offline soon", Actions: acts}); err != nil {
		t.Fatal(err)
	}
	acts[0].Key = "mutated" // the caller reusing its slice must not change the record
	if err := f.Notify(ctx, Notification{Topic: "chat", Title: "<b>raw</b>"}); err != nil {
		t.Fatal(err)
	}
	sent := f.Sent()
	if len(sent) != 2 || sent[0].Actions[0].Key != "stay-online" || sent[1].Title != "<b>raw</b>" {
		t.Fatalf("Sent() = %+v", sent)
	}
	sent[0].Actions[0].Key = "x" // nor may the returned copy alias the record
	if f.Sent()[0].Actions[0].Key != "stay-online" {
		t.Error("Sent() aliases the recorded actions")
	}
	if n, ok := f.Shown("offline-soon"); !ok || n.Title != "Offline soon" {
		t.Errorf("Shown = %+v %v", n, ok)
	}

	if err := f.Dismiss(ctx, "offline-soon"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Shown("offline-soon"); ok {
		t.Error("still shown after Dismiss")
	}
	if got := f.Dismissed(); !slices.Equal(got, []string{"offline-soon"}) {
		t.Errorf("Dismissed() = %q", got)
	}

	f.Trigger("chat", "default")
	if ev := <-f.Actions(); ev != (ActionEvent{Topic: "chat", Key: "default"}) {
		t.Errorf("event = %+v", ev)
	}

	boom := errors.New("boom")
	f.SetErr(boom)
	if err := f.Notify(ctx, Notification{Topic: "x"}); !errors.Is(err, boom) {
		t.Errorf("SetErr: Notify returned %v", err)
	}
	f.SetErr(nil)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.Notify(cancelled, Notification{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
	if len(f.Sent()) != 2 {
		t.Errorf("failed sends were recorded: %d", len(f.Sent()))
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}
}

func TestFakeTriggerNeverBlocks(t *testing.T) {
	f := NewFake()
	for i := range actionsBuffer + 5 {
		f.Trigger("t", string(rune('a'+i)))
	}
	if got := (<-f.Actions()).Key; got != string(rune('a'+5)) {
		t.Errorf("oldest kept event = %q, want the 6th (the first 5 dropped)", got)
	}
}
