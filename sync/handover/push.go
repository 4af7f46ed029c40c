package handover

import (
	"cmp"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
)

// outbox is one poll's chat messages, delivered only once the state that
// records them is saved (see pollOnce), and how many each agent was given.
type outbox struct {
	budget map[Recipient]int
	msgs   []delivery
}

type delivery struct {
	to  Recipient
	env feed.Envelope
}

// deliver pushes the messages in the order the poll queued them.
func (o *outbox) deliver() {
	for _, d := range o.msgs {
		d.to.Send(d.env)
	}
	o.msgs = nil
}

// process applies the chat's new events and queues what they call for.
func (w *Watcher) process(v chaport.Visitor, chat chaport.Chat, out *outbox, st *PollStats) {
	rec := w.state.record(chat.ID, v.ID)
	before := *rec
	acts := w.kinds.advance(rec, chat.Events, resumeAt(rec, chat.Events), w.noteUnknown)
	if *rec != before {
		w.state.dirty = true
	}
	for _, a := range acts {
		ev := chat.Events[a.at]
		if a.kind == feed.ChatHandover {
			st.Announced++
		}
		now := w.env.Clock.Now()
		if !ev.At.IsZero() && now.Sub(ev.At) > staleHandover {
			st.Stale++
			continue
		}
		msg := feed.ChatEvent{Kind: a.kind, ChatID: chat.ID, VisitorID: v.ID,
			VisitorName: cutText(cmp.Or(v.Name, v.Email), maxNameRunes),
			OperatorID:  a.operatorID, At: cmp.Or(ev.At, now)}
		if a.kind == feed.ChatHandover {
			msg.Transcript, msg.BotName = w.kinds.transcript(chat.Events, a.at)
		}
		w.env.Log.Debug("chat message", "kind", a.kind, "chat", chat.ID, "operator", a.operatorID)
		w.send(w.audience(rec.HandoverOperator), msg, out, st)
	}
}

// audience is the agents of the staff linked to the operator; for no
// operator, or one whose staff is not connected, every agent whose status
// gives chat access.
func (w *Watcher) audience(operatorID string) []Recipient {
	if operatorID != "" {
		if to := w.env.Audience.OfOperator(operatorID); len(to) > 0 {
			return to
		}
	}
	return w.env.Audience.WithChatAccess()
}

// send queues msg in the outbox for each agent still under its per-poll cap.
func (w *Watcher) send(to []Recipient, msg feed.ChatEvent, out *outbox, st *PollStats) {
	if len(to) == 0 {
		return
	}
	env, err := w.envelope(msg)
	if err != nil {
		w.env.Log.Error("encoding a chat message", "chat", msg.ChatID, "err", err)
		return
	}
	for _, s := range to {
		if out.budget[s] >= w.cfg.MaxPushesPerPoll {
			st.Suppressed++
			continue
		}
		out.budget[s]++
		out.msgs = append(out.msgs, delivery{s, env})
		st.Pushed++
	}
}

// envelope encodes msg, dropping the oldest transcript lines if it would not
// fit an agent's frame limit (JSON escaping can make text six times longer).
func (w *Watcher) envelope(msg feed.ChatEvent) (feed.Envelope, error) {
	limit := cmp.Or(w.env.MaxFrameBytes, feed.DefaultMaxFrameBytes) - 1024
	for {
		env, err := feed.NewEnvelope(feed.TypeChat, "", msg)
		if err != nil || int64(len(env.Data)) <= limit || len(msg.Transcript) == 0 {
			return env, err
		}
		msg.Transcript = msg.Transcript[1:]
	}
}

// noteUnknown logs each unknown event type once, up to maxUnknownTypes.
func (w *Watcher) noteUnknown(typ string) {
	typ = cutText(typ, 100)
	if w.unknown[typ] || len(w.unknown) > maxUnknownTypes {
		return
	}
	w.unknown[typ] = true
	if len(w.unknown) > maxUnknownTypes {
		w.env.Log.Warn("more unknown Chaport event types; no longer logging them")
		return
	}
	w.env.Log.Warn("ignoring an unknown Chaport event type", "type", typ,
		"hint", "list it in chats.*_event_types if it matters")
}
