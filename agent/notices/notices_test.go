package notices

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/agent/notify"
	"github.com/omnitray/omnitray/sync/feed"
)

func TestSplitNotifierRoutesActionsByTopic(t *testing.T) {
	f := notify.NewFake()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	status, chats := Split(ctx, f)
	f.Trigger(TopicOfflineSoon, ActionStayOnline)
	f.Trigger(TopicHandover, ActionOpenChat)
	for _, tc := range []struct {
		n     notify.Notifier
		topic string
	}{{status, TopicOfflineSoon}, {chats, TopicHandover}} {
		select {
		case ev := <-tc.n.Actions():
			if ev.Topic != tc.topic {
				t.Fatalf("got %+v, want topic %s", ev, tc.topic)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no action for %s", tc.topic)
		}
	}
}

func TestSwitchNotice(t *testing.T) {
	for _, tc := range []struct {
		err   error
		title string
		body  string
	}{
		{&feed.RemoteError{Code: feed.CodeNotApplied, Message: "Omnidesk did not apply «Обед»; it still shows «Офлайн»"},
			"Omnidesk did not apply «Обед»", "it still shows «Офлайн»"},
		{fmt.Errorf("switching: %w", &feed.RemoteError{Code: feed.CodeRefused, Message: "Omnidesk refused the switch to «Обед»: no"}),
			"Omnidesk refused «Обед»", "refused the switch"},
		{fmt.Errorf("send: %w", feed.ErrNotConnected), "Could not switch to «Обед»", "not connected to the hub"},
		{context.DeadlineExceeded, "Could not switch to «Обед»", "may still happen"},
	} {
		n := Switch("Обед", tc.err)
		if n.Topic != TopicSwitch || n.Title != tc.title || !strings.Contains(n.Body, tc.body) ||
			!strings.Contains(n.Body, "Switch it in Omnidesk") {
			t.Errorf("%v: got %q / %q", tc.err, n.Title, n.Body)
		}
		if len(n.Actions) != 1 || n.Actions[0].Key != ActionOpenOmnidesk || n.Actions[0].Label != "Open Omnidesk" {
			t.Errorf("%v: actions %+v, want Open Omnidesk", tc.err, n.Actions)
		}
	}
}
