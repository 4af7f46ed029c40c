package notices

import (
	"context"

	"github.com/omnitray/omnitray/agent/notify"
)

// routedNotifier is a Notifier whose action stream carries only the
// topics routed to it.
type routedNotifier struct {
	notify.Notifier
	actions chan notify.ActionEvent
}

func (r routedNotifier) Actions() <-chan notify.ActionEvent { return r.actions }

// Split lets Run and RunChats share one notifier: a
// notifier has one action stream, and two readers would steal each other's
// clicks. It returns one view for status notices and one for chat notices,
// each receiving the actions of its own topics.
func Split(ctx context.Context, n notify.Notifier) (status, chats notify.Notifier) {
	return route(ctx, n, func(topic string) bool { return topic == TopicHandover || topic == TopicReminder })
}

// route splits n's action stream by topic: ours gets the actions whose
// topic mine accepts, rest all others.
func route(ctx context.Context, n notify.Notifier, mine func(topic string) bool) (rest, ours notify.Notifier) {
	r := routedNotifier{n, make(chan notify.ActionEvent, 16)}
	o := routedNotifier{n, make(chan notify.ActionEvent, 16)}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-n.Actions():
				to := r.actions
				if mine(ev.Topic) {
					to = o.actions
				}
				select {
				case to <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return r, o
}
