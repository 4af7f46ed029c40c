package presence

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/rules"
)

func TestTrackerCombines(t *testing.T) {
	lock := func(src string, on bool) update { return update{kind: kindLock, source: src, on: on} }
	tests := []struct {
		name    string
		updates []update
		want    rules.Presence
		changed bool // whether the last update changed the result
	}{
		{"nothing", []update{lock("logind", false)}, rules.Presence{}, false},
		{"one lock", []update{lock("logind", true)}, rules.Presence{Locked: true}, true},
		{"any lock wins", []update{lock("logind", true), lock("ss", false)}, rules.Presence{Locked: true}, false},
		{"both cleared", []update{lock("logind", true), lock("ss", true), lock("logind", false), lock("ss", false)}, rules.Presence{}, true},
		{"one of two cleared", []update{lock("logind", true), lock("ss", true), lock("logind", false)}, rules.Presence{Locked: true}, false},
		{"asleep", []update{{kind: kindSleep, on: true}}, rules.Presence{Asleep: true}, true},
		{"woke", []update{{kind: kindSleep, on: true}, {kind: kindSleep}}, rules.Presence{}, true},
		{"idle and locked", []update{{kind: kindIdle, on: true}, lock("ss", true)}, rules.Presence{Locked: true, Idle: true}, true},
		{"repeat", []update{{kind: kindIdle, on: true}, {kind: kindIdle, on: true}}, rules.Presence{Idle: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr tracker
			var got rules.Presence
			var changed bool
			for _, u := range tt.updates {
				got, changed = tr.apply(u)
			}
			if got != tt.want || changed != tt.changed {
				t.Errorf("got %+v changed=%v, want %+v changed=%v", got, changed, tt.want, tt.changed)
			}
		})
	}
}

func TestOutbox(t *testing.T) {
	locked, asleep := rules.Presence{Locked: true}, rules.Presence{Asleep: true}
	var o outbox
	if _, ok := o.next(); ok {
		t.Fatal("empty outbox has something to send")
	}
	o.push(locked)
	o.push(asleep)
	o.push(rules.Presence{})
	var got []rules.Presence
	for p, ok := o.next(); ok; p, ok = o.next() {
		got = append(got, p)
		o.sentOne()
	}
	if want := []rules.Presence{locked, asleep, {}}; !equal(got, want) {
		t.Errorf("sent %v, want every transition in order %v", got, want)
	}

	// Overflow drops the oldest, keeps the latest, and never repeats the
	// last value sent.
	o = outbox{}
	for i := range maxQueued + 3 {
		o.push(rules.Presence{Locked: i%2 == 0})
	}
	if len(o.queue) != maxQueued {
		t.Fatalf("queue length %d, want %d", len(o.queue), maxQueued)
	}
	last := rules.Presence{Locked: (maxQueued+2)%2 == 0}
	if o.queue[len(o.queue)-1] != last {
		t.Errorf("latest value lost")
	}
	o = outbox{sent: locked, queue: []rules.Presence{locked, asleep}}
	if p, _ := o.next(); p != asleep {
		t.Errorf("next = %+v, want the repeat of the sent value skipped", p)
	}
}

func equal(a, b []rules.Presence) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestIdleDecisionAndPolling(t *testing.T) {
	tests := []struct {
		idleFor, after time.Duration
		idle           bool
		wantIdle       bool
		wantNext       time.Duration
	}{
		{0, 0, false, false, minPoll},                                    // off: never idle
		{0, 10 * time.Minute, false, false, 100 * time.Second},           // a sixth of IdleAfter
		{9 * time.Minute, 10 * time.Minute, false, false, time.Minute},   // wake at the threshold
		{599 * time.Second, 10 * time.Minute, false, false, minPoll},     // but never faster than the floor
		{10 * time.Minute, 10 * time.Minute, true, true, minPoll},        // idle: watch for the return
		{0, time.Minute, false, false, 10 * time.Second},                 // short IdleAfter
		{0, 10 * time.Second, false, false, minPoll},                     // very short IdleAfter: floor
		{time.Duration(math.MaxInt64), time.Minute, true, true, minPoll}, // logind hint without a timestamp
	}
	for _, tt := range tests {
		if got := isIdle(tt.idleFor, tt.after); got != tt.wantIdle {
			t.Errorf("isIdle(%v, %v) = %v, want %v", tt.idleFor, tt.after, got, tt.wantIdle)
		}
		if tt.after == 0 {
			continue
		}
		if got := nextPoll(tt.idleFor, tt.after, tt.idle); got != tt.wantNext {
			t.Errorf("nextPoll(%v, %v, %v) = %v, want %v", tt.idleFor, tt.after, tt.idle, got, tt.wantNext)
		}
	}
}

func TestSinceTickWraps(t *testing.T) {
	tests := []struct {
		now, last uint32
		want      time.Duration
	}{
		{5000, 2000, 3 * time.Second},
		{1000, math.MaxUint32 - 999, 2 * time.Second}, // counter wrapped after 49.7 days
		{7, 7, 0},
	}
	for _, tt := range tests {
		if got := sinceTick(tt.now, tt.last); got != tt.want {
			t.Errorf("sinceTick(%d, %d) = %v, want %v", tt.now, tt.last, got, tt.want)
		}
	}
}

// TestRunLoopDoesNotBlockSources shows that sources keep posting while the
// reader is away, and that the reader then gets every transition in order.
func TestRunLoopDoesNotBlockSources(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	updates := make(chan update)
	out := make(chan rules.Presence)
	done := make(chan struct{})
	go func() { defer close(done); runLoop(ctx, out, updates) }()
	for _, u := range []update{{kind: kindSleep, on: true}, {kind: kindSleep}, {kind: kindLock, source: "x", on: true}} {
		updates <- u // unbuffered: returns only because the loop is not stuck on out
	}
	for _, want := range []rules.Presence{{Asleep: true}, {}, {Locked: true}} {
		if got := <-out; got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	cancel()
	<-done
}

// TestIdlePoller drives the poller with a fake clock and fake probes.
func TestIdlePoller(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	var mu sync.Mutex
	idleFor, firstFails := time.Duration(0), true
	probes := []idleProbe{
		{name: "broken", read: func(context.Context) (time.Duration, error) {
			mu.Lock()
			defer mu.Unlock()
			if firstFails {
				return 0, errors.New("no such service")
			}
			return idleFor, nil
		}},
		{name: "second", read: func(context.Context) (time.Duration, error) {
			mu.Lock()
			defer mu.Unlock()
			return idleFor, nil
		}},
	}
	p := newIdlePoller(probes, Options{IdleAfter: time.Minute, Clock: fc}.withDefaults())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if got := p.start(ctx); got != "second" {
		t.Fatalf("start picked %q, want the first probe that answers", got)
	}
	posts := make(chan update, 4)
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx, func(u update) { posts <- u }) }()

	step := func(d time.Duration, set time.Duration) {
		t.Helper()
		waitPending(t, fc)
		mu.Lock()
		idleFor = set
		mu.Unlock()
		fc.Advance(d)
	}
	step(10*time.Second, 2*time.Minute)
	if u := <-posts; u.kind != kindIdle || !u.on {
		t.Fatalf("got %+v, want idle", u)
	}
	step(minPoll, 0)
	if u := <-posts; u.kind != kindIdle || u.on {
		t.Fatalf("got %+v, want active", u)
	}
	cancel()
	<-done
	if n := fc.Pending(); n != 0 {
		t.Errorf("%d timers left armed after Run", n)
	}
}

// waitPending waits until the code under test has armed its timer, so that
// Advance is not lost.
func waitPending(t *testing.T, fc *clock.Fake) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for fc.Pending() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no timer armed")
		}
		time.Sleep(time.Millisecond)
	}
}
