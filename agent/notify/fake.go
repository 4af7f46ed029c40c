package notify

import (
	"context"
	"slices"
	"sync"
)

// Fake is an in-memory Notifier for tests of other packages: it records
// what was sent and dismissed, and Trigger simulates a click. It records
// notifications exactly as given (no cleaning), so tests can compare them
// with what their code produced. Safe for concurrent use.
type Fake struct {
	mu        sync.Mutex
	sent      []Notification
	dismissed []string
	shown     map[string]Notification // topic → on screen
	err       error
	events    chan ActionEvent
}

var _ Notifier = (*Fake)(nil)

// NewFake returns an empty Fake.
func NewFake() *Fake {
	return &Fake{shown: map[string]Notification{}, events: make(chan ActionEvent, actionsBuffer)}
}

// Notify records n. It fails like a real notifier when ctx is already done
// or SetErr was given an error.
func (f *Fake) Notify(ctx context.Context, n Notification) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	n.Actions = slices.Clone(n.Actions) // the caller may reuse its slice
	f.sent = append(f.sent, n)
	if n.Topic != "" {
		f.shown[n.Topic] = n
	}
	return nil
}

// Dismiss records topic (even if nothing was shown for it, so a test can
// assert the call) and removes it from Shown.
func (f *Fake) Dismiss(ctx context.Context, topic string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.dismissed = append(f.dismissed, topic)
	delete(f.shown, topic)
	return nil
}

// Actions yields the events passed to Trigger.
func (f *Fake) Actions() <-chan ActionEvent { return f.events }

// Close does nothing; like the real notifiers it leaves Actions open.
func (f *Fake) Close() error { return nil }

// Sent returns every notification passed to Notify, oldest first.
func (f *Fake) Sent() []Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Notification, len(f.sent))
	for i, n := range f.sent {
		n.Actions = slices.Clone(n.Actions)
		out[i] = n
	}
	return out
}

// Dismissed returns the topics passed to Dismiss, oldest first.
func (f *Fake) Dismissed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.dismissed)
}

// Shown returns the notification currently on screen for topic: the last
// one sent with it, unless it was dismissed since.
func (f *Fake) Shown(topic string) (Notification, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.shown[topic]
	n.Actions = slices.Clone(n.Actions)
	return n, ok
}

// Trigger simulates the user invoking key on topic's notification. Like the
// real notifier it never blocks: when nobody reads Actions, the oldest
// pending event is dropped.
func (f *Fake) Trigger(topic, key string) {
	f.mu.Lock() // one sender at a time, as pushDropOldest requires
	defer f.mu.Unlock()
	pushDropOldest(f.events, ActionEvent{Topic: topic, Key: key})
}

// SetErr makes later Notify and Dismiss calls fail with err (nil restores
// success), to test callers' fallbacks.
func (f *Fake) SetErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}
