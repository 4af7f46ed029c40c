package hub

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/handover"
)

// The chat hand-over watcher (sync/handover) runs beside the pollers. The
// hub gives it its Chaport client, clock and log, and its connected agents
// as the audience: it routes through the directory and pushes on sessions.

// newChatWatcher wires the watcher to the hub; Run starts it when the
// "chats" section leaves it on.
func (h *Hub) newChatWatcher(ctx context.Context) *handover.Watcher {
	env := handover.Env{Chaport: h.cfg.Chaport, Audience: chatAudience{h},
		Clock: h.clock, Log: h.log, MaxFrameBytes: h.cfg.Feed.MaxFrameBytes, Hook: h.chatHook}
	if h.rep != nil {
		env.State = sharedChatState{h, ctx}
	}
	return handover.New(h.cfg.File.Chats, env)
}

// keyChatState holds the chat watcher's memory of chats in a cluster: the
// next leader's watcher starts from it, so that nothing is announced twice
// across a failover.
const keyChatState = "chat-state"

// sharedChatState is the watcher's StateStore on a replica. Only the proven
// leader saves: a deposed one must not overwrite its successor's memory,
// nor announce what its last poll found (handover.ErrNotOwner). The state
// is compressed: thousands of remembered chats would come close to the
// engine's message size as plain JSON.
type sharedChatState struct {
	h   *Hub
	ctx context.Context // the leadership term's
}

// Load waits for the shared state rather than start without it: a watcher
// without its memory would announce again every recent hand-over. The
// shared state may be electing a leader of its own just after a failover.
func (s sharedChatState) Load() ([]byte, error) {
	data, err := s.h.getShared(s.ctx, keyChatState, time.Second, func(err error) bool {
		s.h.rep.note("get "+keyChatState, err, "reading the shared chat state failed; the chat watcher waits for it")
		return true
	})
	if s.ctx.Err() == nil && (err == nil || errors.Is(err, ErrNoState)) {
		s.h.rep.note("get "+keyChatState, nil, "")
	}
	if errors.Is(err, ErrNoState) {
		// A cluster's first leader starts from the file a single hub kept.
		if f := s.h.cfg.File.Chats.StateFile; f != "" {
			return handover.FileStore(f).Load()
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the shared chat state: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading the shared chat state: %w", err)
	}
	// Bounded: the watcher caps its records, and a bad value must not
	// take the hub's memory.
	return io.ReadAll(io.LimitReader(zr, 64<<20))
}

func (s sharedChatState) Save(data []byte) error {
	if err := s.h.rep.fence(); err != nil {
		return fmt.Errorf("saving the shared chat state: %w: %w", handover.ErrNotOwner, err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(data)
	_ = zw.Close()
	// The term's context may have ended (Run's last save): the save is
	// still the proven leader's, so it gets its own deadline.
	ctx, cancel := context.WithTimeout(s.h.ctx, sharedStateTimeout)
	defer cancel()
	if err := s.h.rep.r.Put(ctx, keyChatState, buf.Bytes()); err != nil {
		return fmt.Errorf("saving the shared chat state: %w", err)
	}
	return nil
}

// chatAudience is the hub's connected agents as the watcher sees them,
// with those other replicas hold (remotedevices.go).
type chatAudience struct{ h *Hub }

func (a chatAudience) Ready() bool {
	ready, _, _ := a.h.dir.isReady()
	return ready
}

func (a chatAudience) OfOperator(operatorID string) []handover.Recipient {
	d := a.h.dir
	to := chatRecipients(d.sessionsOfOperator(operatorID))
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.remoteRecipients(a.h, func(staffID int64) bool {
		op, ok := d.co.operator(staffID)
		return ok && op.ID == operatorID
	}) {
		to = append(to, r)
	}
	return to
}

func (a chatAudience) WithChatAccess() []handover.Recipient {
	d := a.h.dir
	to := chatRecipients(d.sessionsWithChatAccess())
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.remoteRecipients(a.h, func(staffID int64) bool {
		_, access, _ := d.co.current(staffID)
		return access
	}) {
		to = append(to, r)
	}
	return to
}

// chatRecipient is a session as the watcher pushes to it.
type chatRecipient session

func (r *chatRecipient) Send(env feed.Envelope) { (*session)(r).send(env) }

func chatRecipients(ss []*session) []handover.Recipient {
	out := make([]handover.Recipient, len(ss))
	for i, s := range ss {
		out[i] = (*chatRecipient)(s)
	}
	return out
}
