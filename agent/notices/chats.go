package notices

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/agent/notify"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
)

// Chat notification topics and actions.
const (
	TopicHandover  = "handover"
	TopicReminder  = "handover-reminder"
	ActionOpenChat = "open-chat"
	ActionDismiss  = "dismiss"
)

// ChatOptions tune the hand-over notifications.
type ChatOptions struct {
	// Reminder is how long after a hand-over without a reply a reminder
	// comes (default 2m).
	Reminder time.Duration
	// Coalesce gathers hand-overs arriving this close together into one
	// notification (default 3s), so a burst is one bubble, not a flood.
	Coalesce time.Duration
	// OpenURL opens a chat in the browser ("Open chat").
	OpenURL func(string) error
}

// maxWatchedChats bounds what the notifier remembers; the oldest are
// forgotten first (their reminders with them).
const maxWatchedChats = 200

type watchedChat struct {
	ev        feed.ChatEvent
	seen      time.Time
	remindAt  time.Time // zero once reminded or answered
	announced bool
}

// chatNotifier is RunChats' state, owned by its goroutine.
type chatNotifier struct {
	a       *agent.Agent
	log     *slog.Logger
	clock   clock.Clock
	n       notify.Notifier
	opt     ChatOptions
	chats   map[int64]*watchedChat
	order   []int64 // oldest first, for eviction
	batch   []int64 // hand-overs waiting for the coalescing window
	flushAt time.Time
	shown   map[string]string // topic → URL its "Open chat" opens
}

// RunChats shows hand-over notifications until ctx ends: one per
// hand-over (or one for a burst), a reminder when nobody has answered after
// opt.Reminder, nothing for chats only a bot handles (the hub never sends
// those).
func RunChats(ctx context.Context, a *agent.Agent, n notify.Notifier, opt ChatOptions) {
	if opt.Reminder <= 0 {
		opt.Reminder = 2 * time.Minute
	}
	if opt.Coalesce <= 0 {
		opt.Coalesce = 3 * time.Second
	}
	c := &chatNotifier{a: a, log: a.Logger(), clock: a.Clock(), n: n, opt: opt, chats: map[int64]*watchedChat{},
		shown: map[string]string{}}
	events := a.ChatEvents()
	var timer clock.Timer
	for {
		var wake <-chan time.Time
		if at := c.nextWake(); !at.IsZero() {
			timer = c.clock.NewTimer(max(at.Sub(c.clock.Now()), 0))
			wake = timer.C()
		}
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			c.onEvent(ctx, ev)
		case act := <-n.Actions():
			c.onAction(ctx, act)
		case <-wake:
			c.due(ctx)
		}
		if timer != nil {
			timer.Stop()
			timer = nil
		}
	}
}

func (c *chatNotifier) onEvent(ctx context.Context, ev feed.ChatEvent) {
	now := c.clock.Now()
	w := c.chats[ev.ChatID]
	switch ev.Kind {
	case feed.ChatHandover:
		if w != nil && w.announced {
			return // the hub repeats nothing, but a reconnect could
		}
		if w == nil {
			w = &watchedChat{}
			c.remember(ev.ChatID, w)
		}
		w.ev, w.seen, w.remindAt = ev, now, now.Add(c.opt.Reminder)
		if len(c.batch) == 0 {
			c.flushAt = now.Add(c.opt.Coalesce)
		}
		c.batch = append(c.batch, ev.ChatID)
	case feed.ChatOperatorReply:
		if w != nil && !w.remindAt.IsZero() {
			w.remindAt = time.Time{}
			c.log.Info(fmt.Sprintf("Chat with %s answered; reminder cancelled", agent.DisplayName(w.ev.VisitorName)))
		}
	}
}

func (c *chatNotifier) remember(id int64, w *watchedChat) {
	c.chats[id] = w
	c.order = append(c.order, id)
	if len(c.order) > maxWatchedChats {
		delete(c.chats, c.order[0])
		c.order = c.order[1:]
	}
}

func (c *chatNotifier) nextWake() time.Time {
	at := c.flushAt
	for _, w := range c.chats {
		if !w.remindAt.IsZero() && w.announced && (at.IsZero() || w.remindAt.Before(at)) {
			at = w.remindAt
		}
	}
	return at
}

// due shows what has come due: the gathered hand-overs and the reminders.
func (c *chatNotifier) due(ctx context.Context) {
	now := c.clock.Now()
	if !c.flushAt.IsZero() && !now.Before(c.flushAt) {
		c.flush(ctx)
	}
	var late []*watchedChat
	for _, id := range c.order {
		if w := c.chats[id]; w.announced && !w.remindAt.IsZero() && !now.Before(w.remindAt) {
			w.remindAt = time.Time{}
			late = append(late, w)
		}
	}
	if len(late) == 0 {
		return
	}
	newest := late[len(late)-1]
	title := fmt.Sprintf("%s is still waiting for a reply", agent.DisplayName(newest.ev.VisitorName))
	if len(late) > 1 {
		title = fmt.Sprintf("%d handed-over chats are still waiting for a reply", len(late))
	}
	c.send(ctx, TopicReminder, title, summaryBody(late), c.a.ChatLink(newest.ev))
}

// flush announces the gathered hand-overs: one chat in detail, a burst as
// one summary, newest first.
func (c *chatNotifier) flush(ctx context.Context) {
	var ws []*watchedChat
	total := len(c.batch) // evicted chats still count in a burst's summary
	for _, id := range c.batch {
		if w := c.chats[id]; w != nil && !w.announced {
			w.announced = true
			ws = append(ws, w)
		}
	}
	c.batch, c.flushAt = nil, time.Time{}
	if len(ws) == 0 {
		return
	}
	newest := ws[len(ws)-1]
	url := c.a.ChatLink(newest.ev)
	if len(ws) == 1 && total == 1 {
		ev := newest.ev
		c.log.Info(fmt.Sprintf("Hand-over: %s %s", agent.DisplayName(ev.VisitorName), fromBot(ev.BotName)))
		c.send(ctx, TopicHandover, fmt.Sprintf("%s — %s", agent.DisplayName(ev.VisitorName), fromBot(ev.BotName)),
			transcriptBody(ev.Transcript), url)
		return
	}
	total = max(total, len(ws))
	c.log.Info(fmt.Sprintf("Hand-over: %d chats at once", total))
	c.send(ctx, TopicHandover, fmt.Sprintf("%d chats handed over", total), summaryBody(ws), url)
}

func (c *chatNotifier) send(ctx context.Context, topic, title, body, url string) {
	c.shown[topic] = url
	err := c.n.Notify(ctx, notify.Notification{Topic: topic, Title: title, Body: body,
		Actions: []notify.Action{{Key: ActionOpenChat, Label: "Open chat"}, {Key: ActionDismiss, Label: "Dismiss"}}})
	if err != nil {
		c.log.Debug("notification not shown", "topic", topic, "err", err)
	}
}

func (c *chatNotifier) onAction(ctx context.Context, act notify.ActionEvent) {
	url, ok := c.shown[act.Topic]
	if !ok {
		return
	}
	switch act.Key {
	case ActionOpenChat, notify.DefaultAction:
		if c.opt.OpenURL != nil && url != "" {
			_ = c.opt.OpenURL(url)
		}
	case ActionDismiss:
		_ = c.n.Dismiss(ctx, act.Topic)
	}
}

// transcriptLines is how much of the bot's conversation a notification
// shows: the last questions and answers, the part that matters at pick-up.
const transcriptLines = 4

func transcriptBody(lines []feed.ChatLine) string {
	if len(lines) > transcriptLines {
		lines = lines[len(lines)-transcriptLines:]
	}
	var b strings.Builder
	for _, l := range lines {
		who := "Visitor"
		if l.From == "bot" {
			who = "Bot"
		}
		fmt.Fprintf(&b, "%s: %s\n", who, agent.OneLine(l.Text, 160))
	}
	return strings.TrimSpace(b.String())
}

// summaryBody lists chats newest first, a line each, at most 5.
func summaryBody(ws []*watchedChat) string {
	var b strings.Builder
	for i := len(ws) - 1; i >= 0 && i >= len(ws)-5; i-- {
		ev := ws[i].ev
		fmt.Fprintf(&b, "%s — %s\n", agent.DisplayName(ev.VisitorName), fromBot(ev.BotName))
	}
	if len(ws) > 5 {
		fmt.Fprintf(&b, "and %d more", len(ws)-5)
	}
	return strings.TrimSpace(b.String())
}

// fromBot says where a hand-over came from: "from bot Helper", or "from the
// chat bot" when the events name none.
func fromBot(name string) string {
	if strings.TrimSpace(name) == "" {
		return "from the chat bot"
	}
	return "from bot " + agent.DisplayName(name)
}
