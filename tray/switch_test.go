package tray

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/rules"
)

// switchAgent answers every switch as Omnidesk did when it ignored it.
type switchAgent struct{ asked chan int64 }

func (a *switchAgent) Watch(ctx context.Context) <-chan agent.State { return nil }
func (a *switchAgent) SwitchStatus(ctx context.Context, id int64) error {
	a.asked <- id
	return &feed.RemoteError{Code: feed.CodeNotApplied, Message: "Omnidesk did not apply «Lunch»; it still shows «Online»"}
}
func (a *switchAgent) Pause(context.Context, bool) error               { return nil }
func (a *switchAgent) StayOnline(context.Context, time.Duration) error { return nil }

// Choosing a status Omnidesk does not apply tells the employee, by the
// status's name, and the check stays on the status Omnidesk shows.
func TestSwitchNotAppliedKeepsTheRealStatus(t *testing.T) {
	m := buildMenu(&fakeBuilder{})
	var sh shown
	st := connected(1, "Online")
	st.Action = rules.KeepOnline.String()
	sh.apply(m, render(st, true, now), func(string) {}, func(string) {})

	a := &switchAgent{asked: make(chan int64, 1)}
	type failure struct {
		name string
		err  error
	}
	failed := make(chan failure, 1)
	opts := Options{Agent: a, Logger: slog.New(slog.DiscardHandler),
		SwitchFailed: func(name string, err error) { failed <- failure{name, err} }}
	lunch := m.statuses[2].(*fakeItem)
	lunch.Check() // as systray does locally on a click
	handleClick(context.Background(), opts, m, &sh, st, lunch)
	sh.apply(m, render(st, true, now), func(string) {}, func(string) {}) // the loop draws after each click

	if id := <-a.asked; id != 120273 {
		t.Fatalf("asked to switch to %d, want 120273", id)
	}
	select {
	case f := <-failed:
		var re *feed.RemoteError
		if f.name != "Lunch" || !errors.As(f.err, &re) || re.Code != feed.CodeNotApplied {
			t.Fatalf("told %q, %v; want Lunch, not_applied", f.name, f.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the employee was not told")
	}
	if lunch.checked || !m.statuses[0].(*fakeItem).checked {
		t.Fatal("the menu does not show the status Omnidesk has (Online)")
	}
}
