package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ServerOptions tune one hub-side connection. Zero fields take the Default*
// values.
type ServerOptions struct {
	MaxFrameBytes int64
	PingInterval  time.Duration
	PongWait      time.Duration
	WriteWait     time.Duration
	// SendQueue is how many frames may wait for a slow agent before it is
	// disconnected; the hub's broadcaster must never wait for one agent.
	SendQueue int
	Logger    *slog.Logger
	// CheckOrigin decides whether to accept a handshake. The default accepts
	// only requests without an Origin header: agents send none, while a
	// browser always does, and a web page must not ride on a token the
	// browser happens to hold.
	CheckOrigin func(*http.Request) bool

	// Test hooks. beforeWrite runs in the write pump before each frame, so a
	// test can stall the pump without depending on TCP buffer sizes; it must
	// return once stop is closed. onPong observes keepalive traffic.
	beforeWrite func(stop <-chan struct{})
	onPong      func()
}

func (o ServerOptions) withDefaults() ServerOptions {
	o.MaxFrameBytes = int64Or(o.MaxFrameBytes, DefaultMaxFrameBytes)
	o.PingInterval = durationOr(o.PingInterval, DefaultPingInterval)
	o.PongWait = durationOr(o.PongWait, DefaultPongWait)
	o.WriteWait = durationOr(o.WriteWait, DefaultWriteWait)
	if o.SendQueue <= 0 {
		o.SendQueue = DefaultSendQueue
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CheckOrigin == nil {
		o.CheckOrigin = func(r *http.Request) bool { return r.Header.Get("Origin") == "" }
	}
	return o
}

// InstanceHeader carries a random name an agent keeps for as long as it
// runs, on every connection to every replica: a hub replica that sees an
// employee's computer reconnect elsewhere after a replica died knows the
// old session for the same computer, not a second one (sync/hub's
// remotedevices.go). It is no secret and proves nothing; at worst a wrong
// one merges two computers' entries in the devices list.
const InstanceHeader = "Omnitray-Instance"

// AgentInstance reads InstanceHeader: up to 64 letters, digits, '-' or '_',
// else "".
func AgentInstance(r *http.Request) string {
	v := r.Header.Get(InstanceHeader)
	if len(v) == 0 || len(v) > 64 {
		return ""
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	return v
}

// BearerToken extracts the token from the handshake's "Authorization: Bearer"
// header, or returns "". It deliberately never looks at the URL query:
// URLs end up in access logs, proxies and shell history.
func BearerToken(r *http.Request) string {
	const prefix = "bearer "
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return ""
	}
	return strings.TrimSpace(h[len(prefix):])
}

// ServerConn is the hub's end of one agent's feed.
type ServerConn struct {
	ws   *websocket.Conn
	opts ServerOptions
	log  *slog.Logger

	send chan []byte   // encoded frames for the write pump; never closed
	reqs chan Envelope // closed by the read pump when it ends
	done chan struct{} // closed once, by finish

	// farewell, once CloseWith ended the session, is closed when its close
	// frame has been written; guarded by mu.
	farewell chan struct{}

	mu      sync.Mutex
	closed  bool
	reason  error
	serving bool
}

// writeBuffers are the feed connections' write buffers, lent for one
// frame at a time.
var writeBuffers = &sync.Pool{}

// Accept upgrades a request the caller has already authenticated (see
// BearerToken). On error the HTTP answer has already been written.
func Accept(w http.ResponseWriter, r *http.Request, opts ServerOptions) (*ServerConn, error) {
	opts = opts.withDefaults()
	// The read buffer size stays 0: gorilla then reuses the one net/http
	// already holds for the hijacked connection instead of allocating
	// more per agent (a hub holds thousands). Write buffers come from a
	// pool shared by all connections: an agent is written to a few times a
	// minute, so holding a buffer for each between writes is waste (about
	// 4 KiB an agent).
	up := websocket.Upgrader{
		HandshakeTimeout: opts.WriteWait,
		CheckOrigin:      opts.CheckOrigin,
		WriteBufferPool:  writeBuffers,
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil, fmt.Errorf("upgrade feed connection: %w", err)
	}
	ws.SetReadLimit(opts.MaxFrameBytes)
	return &ServerConn{
		ws:   ws,
		opts: opts,
		log:  opts.Logger.With("remote", r.RemoteAddr),
		send: make(chan []byte, opts.SendQueue),
		reqs: make(chan Envelope, 16),
		done: make(chan struct{}),
	}, nil
}

// Send queues a frame without ever blocking. When the queue is full the
// agent is disconnected and ErrSlowClient returned: it will reconnect and
// start from a fresh snapshot, which is cheaper than buffering without bound.
// A zero V is filled in. Send may be called before Serve, e.g. to queue the
// snapshot.
func (c *ServerConn) Send(env Envelope) error {
	if env.V == 0 {
		env.V = Version
	}
	frame, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("encode %q frame: %w", env.Type, err)
	}
	if int64(len(frame)) > c.opts.MaxFrameBytes {
		// The agent would drop the connection on it; better to fail here,
		// where the hub can log what it tried to send.
		return fmt.Errorf("send %q frame of %d bytes: %w", env.Type, len(frame), ErrFrameTooLarge)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("send %q frame: %w", env.Type, ErrClosed)
	}
	select {
	case c.send <- frame:
		c.mu.Unlock()
		return nil
	default:
	}
	c.mu.Unlock()
	c.log.Warn("feed: agent cannot keep up, disconnecting it", "queued_frames", cap(c.send))
	if c.finish(ErrSlowClient) {
		_ = c.ws.Close()
	}
	return ErrSlowClient
}

// Reply acks req. A nil data is sent as {} so that an ack always has data.
func (c *ServerConn) Reply(req Envelope, data any) error {
	if data == nil {
		data = struct{}{}
	}
	env, err := NewEnvelope(TypeAck, req.ID, data)
	if err != nil {
		return fmt.Errorf("reply to %q: %w", req.Type, err)
	}
	return c.Send(env)
}

// ReplyError answers req with an error; code is one of the Code* constants.
// msg is shown to the employee, so it must be plain words with no secrets.
func (c *ServerConn) ReplyError(req Envelope, code, msg string) error {
	return c.ReplyErrorBody(req, ErrorBody{Code: code, Message: msg})
}

// ReplyErrorBody answers req with an error that may carry a retry time.
func (c *ServerConn) ReplyErrorBody(req Envelope, body ErrorBody) error {
	env, err := NewEnvelope(TypeError, req.ID, body)
	if err != nil {
		return fmt.Errorf("reply error to %q: %w", req.Type, err)
	}
	return c.Send(env)
}

// Requests delivers the agent's requests, decoded and version-checked. The
// caller must keep draining it: while a request waits here, nothing else is
// read, and the agent's pings go unanswered. It is closed when Serve ends.
func (c *ServerConn) Requests() <-chan Envelope { return c.reqs }

// Serve runs the connection until ctx is done, Close is called, the agent
// goes away or falls behind, and returns why (ctx.Err wrapped on shutdown).
func (c *ServerConn) Serve(ctx context.Context) error {
	c.mu.Lock()
	if c.serving {
		c.mu.Unlock()
		return errors.New("feed: Serve called twice on one connection")
	}
	c.serving = true
	c.mu.Unlock()

	readDone := make(chan struct{})
	var readErr error
	go func() {
		defer close(readDone)
		readErr = c.readPump(ctx)
	}()
	if err := c.writePump(ctx, readDone); err != nil {
		c.finish(err)
	}
	c.mu.Lock()
	farewell := c.farewell
	c.mu.Unlock()
	if farewell != nil {
		// The closing handshake: wait (briefly) for our close frame to be
		// written and answered. Closing the socket at once, with a request
		// of the agent's still unread, would reset the connection and could
		// destroy the close frame, and with it the reason, on its way.
		wait, stop := context.WithTimeout(context.Background(), 2*c.opts.WriteWait)
		select {
		case <-farewell:
		case <-wait.Done():
		}
		select {
		case <-readDone:
		case <-wait.Done():
		}
		stop()
	}
	_ = c.ws.Close() // unblocks the read pump if it is still reading
	<-readDone
	if readErr != nil {
		c.finish(readErr)
	}
	c.finish(ErrClosed)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// Close says goodbye and closes the connection. It may wait up to WriteWait
// for the write pump to let go of the socket.
func (c *ServerConn) Close() error {
	if !c.finish(ErrClosed) {
		return nil
	}
	goodbye(c.ws, websocket.CloseNormalClosure, "closed by hub", c.opts.WriteWait)
	if err := c.ws.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close feed connection: %w", err)
	}
	return nil
}

// finish records the first reason the connection ended; later ones are
// consequences (a closed socket, a cancelled pump) and would mislead.
func (c *ServerConn) finish(reason error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.closed, c.reason = true, reason
	close(c.done)
	return true
}

func (c *ServerConn) writePump(ctx context.Context, readDone <-chan struct{}) error {
	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			if c.finish(fmt.Errorf("serve feed: %w", ctx.Err())) {
				goodbye(c.ws, websocket.CloseGoingAway, "hub shutting down", c.opts.WriteWait)
			}
			return nil
		case <-c.done:
			return nil
		case <-readDone:
			return nil
		case frame := <-c.send:
			if c.opts.beforeWrite != nil {
				c.opts.beforeWrite(c.done)
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
				return fmt.Errorf("write frame: %w", err)
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opts.WriteWait)); err != nil {
				return fmt.Errorf("send ping: %w", err)
			}
		}
	}
}

func (c *ServerConn) readPump(ctx context.Context) error {
	defer close(c.reqs)
	extend := keepalive(c.ws, c.opts.PongWait, c.opts.WriteWait, c.opts.onPong)
	for {
		kind, frame, err := c.ws.ReadMessage()
		if err != nil {
			err = readFailure(err, c.opts.MaxFrameBytes, c.opts.PongWait)
			if errors.Is(err, ErrFrameTooLarge) {
				c.log.Warn("feed: agent sent an oversized frame, closing the connection", "limit_bytes", c.opts.MaxFrameBytes)
			}
			return err
		}
		extend()
		if kind != websocket.TextMessage {
			_ = c.ReplyError(Envelope{}, CodeBadRequest, "frames must be JSON text")
			continue
		}
		env, err := decode(frame, c.opts.MaxFrameBytes)
		switch {
		case errors.Is(err, ErrVersion):
			c.log.Debug("feed: ignoring frame of another version", "v", env.V, "type", env.Type)
			continue
		case err != nil:
			c.log.Debug("feed: malformed frame", "err", err)
			_ = c.ReplyError(env, CodeBadRequest, "malformed frame")
			continue
		case !isRequest(env.Type):
			c.log.Debug("feed: ignoring unknown message type", "type", env.Type)
			continue
		case env.ID == "":
			// Without an id the answer could not be matched, so the agent
			// would wait for nothing; refusing tells its developer at once.
			_ = c.ReplyError(env, CodeBadRequest, "request without id")
			continue
		}
		select {
		case c.reqs <- env:
		case <-c.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("deliver request: %w", ctx.Err())
		}
	}
}
