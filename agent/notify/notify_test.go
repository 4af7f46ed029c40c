package notify

import (
	"context"
	"testing"
)

func TestPushDropOldest(t *testing.T) {
	ch := make(chan ActionEvent, 2)
	if pushDropOldest(ch, ActionEvent{Key: "1"}) || pushDropOldest(ch, ActionEvent{Key: "2"}) {
		t.Fatal("dropped with room left")
	}
	if !pushDropOldest(ch, ActionEvent{Key: "3"}) {
		t.Fatal("full channel: want a drop")
	}
	if a, b := <-ch, <-ch; a.Key != "2" || b.Key != "3" {
		t.Errorf("kept %q %q, want 2 3", a.Key, b.Key)
	}
}

func TestNop(t *testing.T) {
	var n Notifier = Nop{}
	if n.Notify(context.Background(), Notification{Title: "x"}) != nil || n.Dismiss(context.Background(), "x") != nil || n.Close() != nil {
		t.Error("Nop failed")
	}
	select {
	case ev := <-n.Actions():
		t.Errorf("Nop yielded %+v", ev)
	default:
	}
}

func TestUrgencyAndDefaults(t *testing.T) {
	var zero Notification
	if zero.Urgency != Normal || Normal.String() != "normal" || Low.String() != "low" || Critical.String() != "critical" {
		t.Error("urgency zero value or names")
	}
	o := Options{}.withDefaults()
	if o.AppName != "Omnitray" || o.DesktopEntry != "omnitray" || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
}
