package notices

import (
	"context"
	"fmt"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/agent/notify"
	"github.com/omnitray/omnitray/sync/feed"
)

// Notification topic and action of a switch that did not happen.
const (
	TopicSwitch        = "switch"
	ActionOpenOmnidesk = "open-omnidesk"
)

// Switch tells the employee plainly that the switch to name did not
// happen, and offers to open Omnidesk, where a person can always switch.
// The menu keeps showing the status Omnidesk has, so nothing else has to
// be undone.
func Switch(name string, err error) notify.Notification {
	res := agent.SwitchFailure(err)
	title := fmt.Sprintf("Could not switch to «%s»", name)
	body := res.Message
	switch res.Code {
	case feed.CodeNotApplied:
		title = fmt.Sprintf("Omnidesk did not apply «%s»", name)
	case feed.CodeRefused:
		title = fmt.Sprintf("Omnidesk refused «%s»", name)
	}
	return notify.Notification{Topic: TopicSwitch, Title: title,
		Body:    body + " Switch it in Omnidesk.",
		Actions: []notify.Action{{Key: ActionOpenOmnidesk, Label: "Open Omnidesk"}}}
}

// SplitSwitch gives the switch notices their own action stream: the
// returned switches view receives the clicks on TopicSwitch, rest all
// others (hand it to Split).
func SplitSwitch(ctx context.Context, n notify.Notifier) (rest, switches notify.Notifier) {
	return route(ctx, n, func(topic string) bool { return topic == TopicSwitch })
}

// RunSwitchActions opens Omnidesk (the address the hub gave) when the
// employee clicks a switch notice, until ctx ends.
func RunSwitchActions(ctx context.Context, a *agent.Agent, n notify.Notifier, openURL func(string) error) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-n.Actions():
			if ev.Topic != TopicSwitch || (ev.Key != ActionOpenOmnidesk && ev.Key != notify.DefaultAction) {
				continue
			}
			if u := a.State().OmnideskURL; u != "" && openURL != nil {
				if err := openURL(u); err != nil {
					a.Logger().Warn("opening Omnidesk", "err", err)
				}
			}
		}
	}
}
