package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gorilla/websocket"
)

// session is one connection of a Client. Requests hold on to the session
// they were sent on, so that a reconnect cannot hand them a stranger's answer.
type session struct {
	ws    *websocket.Conn
	url   string        // the replica's feed URL, for events
	queue chan []byte   // frames for the writer
	done  chan struct{} // closed when the session is over

	mu      sync.Mutex
	over    bool
	pending map[string]chan<- Envelope
}

func (s *session) await(id string, ch chan<- Envelope) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over {
		return false
	}
	s.pending[id] = ch
	return true
}

func (s *session) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, id)
}

// resolve hands an answer to its request; each channel has room for exactly
// the one answer, so the reader never blocks on a requester.
func (s *session) resolve(env Envelope) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.pending[env.ID]
	if ok {
		delete(s.pending, env.ID)
		select {
		case ch <- env:
		default: // cannot happen: one id, one answer, room for one
		}
	}
	return ok
}

func (s *session) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.over {
		s.over = true
		close(s.done)
	}
}

// session runs one connection to url from dial to drop and reports whether
// it got as far as a snapshot.
func (c *Client) session(ctx context.Context, url string, out chan<- Event) (gotSnapshot bool, err error) {
	ws, err := c.dial(ctx, url)
	if err != nil {
		return false, err
	}
	ws.SetReadLimit(c.opts.MaxFrameBytes)
	s := &session{
		ws:      ws,
		url:     url,
		queue:   make(chan []byte, 16),
		done:    make(chan struct{}),
		pending: make(map[string]chan<- Envelope),
	}
	// sctx stops the reader's event sends when the writer fails, since the
	// reader may be waiting on a slow consumer rather than on the socket.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var why firstError
	readDone := make(chan struct{})
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		defer cancel()
		err := c.writeLoop(ctx, s, readDone)
		why.set(err)
		if err != nil {
			// A failed write often means the hub closed the connection
			// with a close frame the reader has not read yet, and that
			// frame says why (a revoked token, say). Give the reader a
			// moment to find it instead of cutting it off.
			_ = ws.SetReadDeadline(time.Now().Add(time.Second))
			return
		}
		_ = ws.Close() // unblocks the reader
	}()

	readErr := c.readLoop(sctx, s, out, &gotSnapshot)
	why.set(readErr)
	close(readDone)
	_ = ws.Close() // unblocks a writer stuck on a dead peer
	<-writeDone
	c.mu.Lock()
	if c.live == s {
		c.live = nil
	}
	c.mu.Unlock()
	s.end()
	// The hub's close frame says why the session ended, even when the
	// writer noticed the closed socket first: it is the cause, the write
	// error only its echo.
	var ce *websocket.CloseError
	if errors.As(readErr, &ce) {
		return gotSnapshot, readErr
	}
	return gotSnapshot, why.get()
}

// firstError keeps the first failure of a session: once one side fails and
// closes the socket, the other side's error only says "closed".
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (c *Client) dial(ctx context.Context, url string) (*websocket.Conn, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.opts.Token)
	h.Set(InstanceHeader, c.instance)
	ws, resp, err := c.opts.Dialer.DialContext(ctx, url, h)
	if err == nil {
		return ws, nil
	}
	if resp == nil {
		return nil, fmt.Errorf("dial hub: %w", err)
	}
	defer resp.Body.Close()
	why := shortLine(resp.Body, c.opts.Token)
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, handshakeRefusal(resp, why)
	}
	if notAHubStatus(resp.StatusCode) {
		return nil, fmt.Errorf("dial hub: handshake answered HTTP %d%s: %w", resp.StatusCode, why, ErrNotAHub)
	}
	return nil, fmt.Errorf("dial hub: handshake answered HTTP %d%s: %w", resp.StatusCode, why, err)
}

// shortLine keeps an error to one readable line however much HTML a proxy
// sends back, and removes the token should anything have echoed it.
func shortLine(r io.Reader, secret string) string {
	buf := make([]byte, 256)
	n, _ := io.ReadFull(r, buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	if secret != "" {
		line = strings.ReplaceAll(line, secret, "[redacted]")
	}
	line = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, line)
	line = strings.TrimSpace(line)
	if runes := []rune(line); len(runes) > 80 {
		line = string(runes[:80]) + "…"
	}
	if line == "" {
		return ""
	}
	return ": " + line
}

func (c *Client) readLoop(ctx context.Context, s *session, out chan<- Event, gotSnapshot *bool) error {
	extend := keepalive(s.ws, c.opts.PongWait, c.opts.WriteWait, nil)
	for {
		kind, frame, err := s.ws.ReadMessage()
		if err != nil {
			err = readFailure(err, c.opts.MaxFrameBytes, c.opts.PongWait)
			if errors.Is(err, ErrFrameTooLarge) {
				c.log.Warn("feed: hub sent an oversized frame, reconnecting", "limit_bytes", c.opts.MaxFrameBytes)
			}
			return err
		}
		extend()
		if kind != websocket.TextMessage {
			c.log.Debug("feed: ignoring non-text frame")
			continue
		}
		env, err := decode(frame, c.opts.MaxFrameBytes)
		if err != nil {
			c.log.Debug("feed: ignoring frame", "err", err)
			continue
		}
		switch env.Type {
		case TypeSnapshot:
			snap, err := DecodeData[Snapshot](env)
			if err != nil {
				return fmt.Errorf("read snapshot: %w: %w", ErrProtocol, err)
			}
			if !*gotSnapshot {
				*gotSnapshot = true
				c.mu.Lock()
				c.live = s // before Connected, so the agent may Request at once
				c.mu.Unlock()
			}
			if !emit(ctx, out, Event{Kind: Connected, Snapshot: snap, URL: s.url}) {
				return fmt.Errorf("deliver snapshot: %w", ctx.Err())
			}
		case TypeStatus, TypeCatalogue, TypeChat, TypeDevices, TypeAck, TypeError:
			if !*gotSnapshot {
				// Anything the agent did before the snapshot would be built
				// on state from the previous connection.
				return fmt.Errorf("%w: %q frame before the snapshot", ErrProtocol, env.Type)
			}
			if env.Type == TypeAck || env.Type == TypeError {
				if !s.resolve(env) {
					c.log.Debug("feed: answer to no pending request", "id", env.ID)
				}
				continue
			}
			if !emit(ctx, out, Event{Kind: Message, Env: env, URL: s.url}) {
				return fmt.Errorf("deliver %q: %w", env.Type, ctx.Err())
			}
		default:
			c.log.Debug("feed: ignoring unknown message type", "type", env.Type)
		}
	}
}

func (c *Client) writeLoop(ctx context.Context, s *session, readDone <-chan struct{}) error {
	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			goodbye(s.ws, websocket.CloseGoingAway, "agent stopping", c.opts.WriteWait)
			// Wait (bounded) for the hub's answering close frame, which ends
			// the reader: then the hub has the goodbye before Run returns and
			// the process may exit, instead of seeing the socket cut (1006).
			t := time.NewTimer(c.opts.WriteWait)
			select {
			case <-readDone:
			case <-t.C:
			}
			t.Stop()
			return nil
		case <-readDone:
			return nil
		case frame := <-s.queue:
			_ = s.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteWait))
			if err := s.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
				return fmt.Errorf("write frame: %w", err)
			}
		case <-ping.C:
			if err := s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opts.WriteWait)); err != nil {
				return fmt.Errorf("send ping: %w", err)
			}
		}
	}
}
