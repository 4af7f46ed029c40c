//go:build (linux && !android) || freebsd || netbsd || openbsd || dragonfly

package notify

// Sending and closing notifications.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	fdn "github.com/esiqveland/notify"
	"github.com/godbus/dbus/v5"
)

func (d *dbusNotifier) Notify(ctx context.Context, n Notification) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := d.acquire(ctx); err != nil {
		return fmt.Errorf("notify: send %q notification: %w", n.Topic, err)
	}
	defer d.release()
	msg := d.message(n)
	d.mu.Lock()
	msg.ReplacesID = d.byTopic[n.Topic] // 0 (new) for an empty or unknown topic
	d.mu.Unlock()
	var id uint32
	err := d.obj.CallWithContext(ctx, fdnIface+".Notify", 0,
		msg.AppName, msg.ReplacesID, msg.AppIcon, msg.Summary, msg.Body,
		flattenActions(msg.Actions), msg.Hints, int32(msg.ExpireTimeout.Milliseconds()),
	).Store(&id)
	if err != nil {
		return fmt.Errorf("notify: send %q notification: %w", n.Topic, err)
	}
	d.remember(n.Topic, msg.ReplacesID, id)
	return nil
}

// message translates n into the freedesktop call: cleaned text, the body
// escaped when it will be parsed as markup, actions only when they can be
// shown (else a server might render them as stray text or ignore clicks).
func (d *dbusNotifier) message(n Notification) fdn.Notification {
	body := cleanBody(n.Body)
	if d.markup {
		body = escapeMarkup(body)
	}
	msg := fdn.Notification{
		AppName:       d.opts.AppName,
		AppIcon:       d.opts.IconPath,
		Summary:       cleanTitle(n.Title),
		Body:          body,
		ExpireTimeout: expireTimeout(n.Timeout),
	}
	// Actions need a topic: an event is reported as (topic, key), and
	// tracking only topics keeps our id maps bounded.
	if d.withActs && n.Topic != "" {
		for _, a := range n.Actions {
			msg.Actions = append(msg.Actions, fdn.Action{Key: a.Key, Label: cleanLabel(a.Label)})
		}
	}
	// Lets GNOME attribute the bubble (and its click) to our .desktop entry.
	msg.AddHint(fdn.Hint{ID: "desktop-entry", Variant: dbus.MakeVariant(d.opts.DesktopEntry)})
	msg.SetUrgency(fdnUrgency(n.Urgency))
	return msg
}

func flattenActions(acts []fdn.Action) []string {
	out := make([]string, 0, 2*len(acts))
	for _, a := range acts {
		out = append(out, a.Key, a.Label)
	}
	return out
}

// expireTimeout maps our convention (0 = server default, <0 = never) onto
// the spec's (-1 = server default, 0 = never).
func expireTimeout(t time.Duration) time.Duration {
	switch {
	case t == 0:
		return fdn.ExpireTimeoutSetByNotificationServer
	case t < 0:
		return fdn.ExpireTimeoutNever
	case t < time.Millisecond:
		return time.Millisecond
	case t > math.MaxInt32*time.Millisecond:
		return math.MaxInt32 * time.Millisecond
	}
	return t
}

func fdnUrgency(u Urgency) fdn.Urgency {
	switch u {
	case Low:
		return fdn.UrgencyLow
	case Critical:
		return fdn.UrgencyCritical
	}
	return fdn.UrgencyNormal
}

func (d *dbusNotifier) Dismiss(ctx context.Context, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := d.acquire(ctx); err != nil {
		return fmt.Errorf("notify: close %q notification: %w", topic, err)
	}
	defer d.release()
	d.mu.Lock()
	id, ok := d.byTopic[topic]
	d.mu.Unlock()
	if !ok {
		return nil
	}
	// The server answers with an error when the notification is already
	// gone (expired, or closed by the user before our Closed signal was
	// handled); that is the outcome we wanted, so only a failed call counts.
	call := d.obj.CallWithContext(ctx, fdnIface+".CloseNotification", 0, id)
	d.forget(id)
	if call.Err != nil {
		if errors.As(call.Err, new(dbus.Error)) {
			d.log.Debug("close notification", "topic", topic, "err", call.Err)
			return nil
		}
		return fmt.Errorf("notify: close %q notification: %w", topic, call.Err)
	}
	return nil
}
