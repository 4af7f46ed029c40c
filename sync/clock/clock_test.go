package clock

import (
	"testing"
	"time"
)

func TestFakeTimerFiresOnlyWhenDue(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	tm := f.NewTimer(2 * time.Second)
	f.Advance(1999 * time.Millisecond)
	select {
	case <-tm.C():
		t.Fatal("timer fired early")
	default:
	}
	f.Advance(time.Millisecond)
	select {
	case at := <-tm.C():
		if !at.Equal(start.Add(2 * time.Second)) {
			t.Fatalf("fired with %v", at)
		}
	default:
		t.Fatal("timer did not fire when due")
	}
	if tm.Stop() {
		t.Fatal("Stop on a fired timer reported pending")
	}
}

func TestFakeTimerStop(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	tm := f.NewTimer(time.Second)
	if f.Pending() != 1 || !tm.Stop() || f.Pending() != 0 {
		t.Fatal("Stop did not remove the pending timer")
	}
	f.Advance(time.Hour)
	select {
	case <-tm.C():
		t.Fatal("stopped timer fired")
	default:
	}
}

func TestFakeNeverGoesBack(t *testing.T) {
	f := NewFake(time.Unix(100, 0))
	f.Set(time.Unix(50, 0))
	if got := f.Now(); !got.Equal(time.Unix(100, 0)) {
		t.Fatalf("clock moved back to %v", got)
	}
}
