//go:build (linux && !android) || freebsd || netbsd || openbsd || dragonfly

package notify

// Tracking our ids and filtering the server's signals.

import (
	fdn "github.com/esiqveland/notify"
	"github.com/godbus/dbus/v5"
)

// remember records id as the one shown for topic. A server may hand out a
// new id when the replaced notification was already gone; the old id is
// then forgotten.
func (d *dbusNotifier) remember(topic string, replaced, id uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if replaced != 0 && replaced != id {
		delete(d.byID, replaced)
	}
	if topic == "" {
		return // never replaced, so nothing to remember
	}
	d.byID[id] = topic
	d.byTopic[topic] = id
}

func (d *dbusNotifier) forget(id uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	topic, ok := d.byID[id]
	if !ok {
		return
	}
	delete(d.byID, id)
	if d.byTopic[topic] == id {
		delete(d.byTopic, topic)
	}
}

// lastID returns the id shown for topic (0 if none); for tests.
func (d *dbusNotifier) lastID(topic string) uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.byTopic[topic]
}

func (d *dbusNotifier) Actions() <-chan ActionEvent { return d.events }

func (d *dbusNotifier) loop() {
	defer close(d.loopDone)
	for sig := range d.sigs {
		d.handleSignal(sig)
	}
}

// handleSignal keeps only signals about our notifications. Signals arrive
// for every application's notifications, and Closed usually follows an
// action, so the action is looked up before the Closed forgets the id.
func (d *dbusNotifier) handleSignal(sig *dbus.Signal) {
	if sig == nil || sig.Path != fdnPath {
		return
	}
	switch sig.Name {
	case fdnIface + ".ActionInvoked":
		var s fdn.ActionInvokedSignal
		if dbus.Store(sig.Body, &s.ID, &s.ActionKey) != nil {
			return
		}
		d.mu.Lock()
		topic, ours := d.byID[s.ID]
		d.mu.Unlock()
		if !ours {
			return
		}
		if pushDropOldest(d.events, ActionEvent{Topic: topic, Key: s.ActionKey}) {
			d.log.Warn("notification actions not read in time: dropped the oldest")
		}
	case fdnIface + ".NotificationClosed":
		var s fdn.NotificationClosedSignal
		var reason uint32
		if dbus.Store(sig.Body, &s.ID, &reason) != nil {
			return
		}
		s.Reason = fdn.Reason(reason)
		d.mu.Lock()
		topic, ours := d.byID[s.ID]
		d.mu.Unlock()
		if ours {
			d.log.Debug("notification closed", "topic", topic, "reason", s.Reason)
			d.forget(s.ID)
		}
	}
}
