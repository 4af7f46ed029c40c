package notices

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/agent/notify"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/rules"
)

// Notification topics. A topic holds at most one notification on screen: a
// newer one replaces it, so a flapping link never stacks bubbles.
const (
	TopicOfflineSoon = "offline-soon"
	TopicConnection  = "connection"
	TopicSignIn      = "sign-in"

	ActionStayOnline = "stay-online"
)

// LostAfter keeps a blip of the hub connection (a restart, a Wi-Fi roam)
// from becoming a notification.
const LostAfter = 15 * time.Second

// Run tells the employee, through n, what they should know about while the
// agent works: that Chaport goes offline soon (offering to stay online), and
// that the hub was lost or is back. It runs until ctx ends.
func Run(ctx context.Context, a *agent.Agent, n notify.Notifier) {
	log, clk := a.Logger(), a.Clock()
	states := a.Watch(ctx)
	var prev agent.State
	var pendingShown time.Time // the OfflineAt we last announced
	var lostSince time.Time
	lostShown := false
	var lostTimer clock.Timer
	var lostC <-chan time.Time
	send := func(nt notify.Notification) {
		if err := n.Notify(ctx, nt); err != nil {
			log.Debug("notification not shown", "topic", nt.Topic, "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-n.Actions():
			if ev.Topic == TopicOfflineSoon && (ev.Key == ActionStayOnline || ev.Key == "default") {
				if err := a.StayOnline(ctx, agent.StayOnlineFor); err == nil {
					log.Info(fmt.Sprintf("Stay online requested: offline postponed by %s", agent.StayOnlineFor))
				}
			}
		case <-lostC:
			lostC = nil
			if !lostSince.IsZero() {
				lostShown = true
				send(notify.Notification{Topic: TopicConnection, Title: "Omnitray lost the hub",
					Body: "Your status is unknown; Chaport will set you offline when the current lease runs out."})
			}
		case s := <-states:
			// Offline soon: once per pending deadline.
			if !s.OfflineAt.IsZero() && !s.OfflineAt.Equal(pendingShown) && s.Connection == agent.Connected {
				pendingShown = s.OfflineAt
				send(offlineSoon(s, clk.Now()))
			}
			if s.OfflineAt.IsZero() && !pendingShown.IsZero() {
				pendingShown = time.Time{}
				_ = n.Dismiss(ctx, TopicOfflineSoon)
			}
			// Connection lost / restored, on one topic.
			switch {
			case s.Connection != agent.Connected && prev.Connection == agent.Connected:
				lostSince = clk.Now()
				lostTimer = clk.NewTimer(LostAfter)
				lostC = lostTimer.C()
			case s.Connection == agent.Connected && !lostSince.IsZero():
				lostSince = time.Time{}
				if lostTimer != nil {
					lostTimer.Stop()
					lostC = nil
				}
				if lostShown {
					lostShown = false
					send(notify.Notification{Topic: TopicConnection, Title: "Omnitray is connected again",
						Body: s.Reason, Urgency: notify.Low, Timeout: 10 * time.Second})
				}
			}
			prev = s
		}
	}
}

func offlineSoon(s agent.State, now time.Time) notify.Notification {
	status := s.StatusName
	if status == "" {
		status = "your status"
	}
	return notify.Notification{
		Topic: TopicOfflineSoon,
		Title: fmt.Sprintf("Chaport goes offline in %s", rules.Countdown(s.OfflineAt, now)),
		Body: fmt.Sprintf("Omnidesk: %s has no chat access, so your Chaport operator goes offline at %s.",
			status, s.OfflineAt.Local().Format("15:04")),
		Actions: []notify.Action{{Key: ActionStayOnline, Label: "Stay online 5 min"}},
	}
}

// SignInNeeded tells the employee once that the agent has no usable token.
func SignInNeeded(ctx context.Context, n notify.Notifier, why string, log *slog.Logger) {
	err := n.Notify(ctx, notify.Notification{Topic: TopicSignIn, Title: "Omnitray needs you to sign in",
		Body: why + " Run 'omnitray login' in a terminal, or choose Sign in… in the tray menu."})
	if err != nil {
		log.Debug("notification not shown", "err", err)
	}
}
