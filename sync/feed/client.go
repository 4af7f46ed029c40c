package feed

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omnitray/omnitray/sync/clock"
)

// ClientOptions configure the agent's end of the feed. Zero fields take the
// Default* values.
type ClientOptions struct {
	// URLs are the feed URLs of the hub's replicas, from WebsocketURLs (or
	// WebsocketURL each). One URL is a hub without replicas, or replicas
	// behind a load balancer. After a failure the client tries the next URL
	// at once, and waits its backoff only when every URL failed in a row.
	URLs []string
	// URL is a single feed URL, for callers with one hub; if URLs is set
	// too, URL is tried first.
	URL   string
	Token string // sent only in the handshake's Authorization header
	// Dialer defaults to one that honours HTTPS_PROXY and gives up on a
	// handshake after 15s.
	Dialer        *websocket.Dialer
	MinBackoff    time.Duration
	MaxBackoff    time.Duration
	PingInterval  time.Duration
	PongWait      time.Duration
	WriteWait     time.Duration
	MaxFrameBytes int64
	Logger        *slog.Logger
	Clock         clock.Clock    // drives the reconnect delay; default clock.Real{}
	Rand          func() float64 // in [0,1), for jitter; default math/rand/v2
}

// stableAfter is how long a connection must last before a drop is treated as
// a fresh incident rather than part of a flapping series.
const stableAfter = time.Minute

// EventKind tells what an Event reports.
type EventKind int

const (
	// Connected carries a Snapshot. It comes first on every connection, and
	// again if the hub resends a snapshot; either way the agent should
	// replace its state with it.
	Connected EventKind = iota + 1
	// Message carries any other hub-initiated envelope ("status", "catalogue").
	Message
	// Disconnected carries why a connection ended or could not be made. It
	// follows every failed attempt, so the agent can show "unknown" honestly.
	Disconnected
)

func (k EventKind) String() string {
	switch k {
	case Connected:
		return "connected"
	case Message:
		return "message"
	case Disconnected:
		return "disconnected"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is what Run reports to the agent.
type Event struct {
	Kind     EventKind
	Snapshot Snapshot
	Env      Envelope
	Err      error
	// URL is the feed URL of the replica the event came from, or that a
	// Disconnected event is about (HubBase makes it readable).
	URL string
}

// Client keeps one agent connected to its hub.
type Client struct {
	opts ClientOptions
	urls []string // URL, then URLs; no duplicates
	// instance names this client, the same on every connection it makes
	// (InstanceHeader), so that hub replicas tell a computer reconnecting
	// from another replica from a second computer.
	instance string
	log      *slog.Logger
	running  atomic.Bool
	nextID   atomic.Uint64

	mu   sync.Mutex
	live *session // set once a snapshot arrived; nil otherwise
}

// NewClient checks opts and fills in defaults. It does not connect.
func NewClient(opts ClientOptions) (*Client, error) {
	var urls []string
	if opts.URL != "" {
		urls = append(urls, opts.URL)
	}
	for _, u := range opts.URLs {
		if !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	if len(urls) == 0 {
		return nil, errors.New("new feed client: no hub URL")
	}
	for i, u := range urls {
		if err := checkDialURL(u); err != nil {
			if len(urls) > 1 {
				return nil, fmt.Errorf("new feed client: URL %d of %d: %w", i+1, len(urls), err)
			}
			return nil, fmt.Errorf("new feed client: %w", err)
		}
	}
	if opts.Token == "" || strings.ContainsAny(opts.Token, " \t\r\n") {
		return nil, errors.New("new feed client: the hub token is empty or contains whitespace")
	}
	if opts.Dialer == nil {
		opts.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 15 * time.Second}
	}
	opts.MinBackoff = durationOr(opts.MinBackoff, DefaultMinBackoff)
	opts.MaxBackoff = max(durationOr(opts.MaxBackoff, DefaultMaxBackoff), opts.MinBackoff)
	opts.PingInterval = durationOr(opts.PingInterval, DefaultPingInterval)
	opts.PongWait = durationOr(opts.PongWait, DefaultPongWait)
	opts.WriteWait = durationOr(opts.WriteWait, DefaultWriteWait)
	opts.MaxFrameBytes = int64Or(opts.MaxFrameBytes, DefaultMaxFrameBytes)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	return &Client{opts: opts, instance: cryptorand.Text(), urls: urls, log: opts.Logger}, nil
}

// Run keeps the feed connected until ctx is done, reporting on out, which
// must be drained promptly (a blocked reader cannot answer pings). It returns
// ctx's error, or an error wrapping ErrUnauthorized when the hub refuses the
// token, since retrying a refused token only fills the hub's log: exactly
// ErrTokenExpired or ErrTokenRevoked when the hub said which (on a live
// session's close frame or on the handshake).
//
// With several URLs (replicas), a failed try moves on to the next URL at
// once; the backoff is waited only after every URL failed in a row (a
// round), and counts rounds. A live connection that drops starts a new
// round at the next replica (once per replica between waits), so that an
// agent never waits out a backoff while another replica answers.
func (c *Client) Run(ctx context.Context, out chan<- Event) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("feed: Run is already running")
	}
	defer c.running.Store(false)
	n := len(c.urls)
	hubs := make([]hubTries, n)
	// The first try goes to the first URL rather than a random one: the
	// order is the administrator's (the replica next to these employees
	// first, say), a start reads the same in every log, and one company's
	// agents are too few for their spread over the replicas to matter.
	// Spreading load is what a load balancer in front of them is for.
	cur := 0
	failed := 0  // tries failed since the round began; at n, wait
	lost := 0    // live connections lost since the last wait
	attempt := 0 // the backoff's: rounds waited since the last good connection
	for {
		url, h := c.urls[cur], &hubs[cur]
		start := c.opts.Clock.Now()
		gotSnapshot, err := c.session(ctx, url, out)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err = plainRefusal(redact(err, c.opts.Token))
		if errors.Is(err, ErrUnauthorized) {
			// Not worth asking another replica: they share the token
			// secret and the revocations.
			return err
		}
		h.connected = h.connected || gotSnapshot
		if errors.Is(err, ErrNotAHub) && !h.connected {
			h.notHub++
		} else {
			h.notHub = 0
		}
		hopeless := allHopeless(hubs)
		h.drops.log(c.log, c.opts.Clock.Now(), err, h.connected, h.notHub >= hopelessAfter, hopeless, url)
		if !emit(ctx, out, Event{Kind: Disconnected, Err: err, URL: url}) {
			return ctx.Err()
		}
		stable := c.opts.Clock.Now().Sub(start) >= stableAfter
		if gotSnapshot || stable {
			attempt = 0
		}
		if stable {
			lost = 0
		}
		if gotSnapshot {
			// A new incident: the other replicas get a try before any
			// wait. Only n times between waits, though: replicas that all
			// send a snapshot and hang up at once (a bad release) must
			// not keep every agent reconnecting in a tight loop.
			if lost++; lost <= n {
				failed = 0
			}
		}
		failed++
		cur = (cur + 1) % n // after a drop, another replica first
		tooMany := closedWith(err, CloseTooManySessions)
		if failed < n && !tooMany {
			continue
		}
		// The session cap is the employee's across the cluster, so
		// another replica would only close another of their computers:
		// no next replica then, but the longest wait.
		failed, lost = 0, 0
		hi := c.opts.MaxBackoff
		if tooMany {
			attempt = maxBackoffAttempt // the longest wait, see CloseTooManySessions
		}
		if hopeless {
			// Addresses that never answered as a hub will not start to
			// by themselves soon; ask them rarely rather than forever at
			// speed.
			attempt, hi = maxBackoffAttempt, max(hi, HopelessBackoff)
		}
		delay := backoff(attempt, c.opts.MinBackoff, hi, c.opts.Rand())
		attempt++
		t := c.opts.Clock.NewTimer(delay)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// hubTries is what Run remembers about one URL of the list.
type hubTries struct {
	drops     dropLog
	connected bool // ever, in this Run
	notHub    int  // handshakes in a row answered by something that is not a hub
}

// allHopeless reports whether every URL has been judged not a hub: only
// then does Run slow down to HopelessBackoff, since a round also asks the
// URLs that may still answer.
func allHopeless(hubs []hubTries) bool {
	for _, h := range hubs {
		if h.notHub < hopelessAfter {
			return false
		}
	}
	return true
}

// maxBackoffAttempt is an attempt number whose backoff is the maximum for any
// sane MinBackoff and MaxBackoff.
const maxBackoffAttempt = 64

// closedWith reports whether err is the peer's close frame with this code.
func closedWith(err error, code int) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) && ce.Code == code
}

// backoff is the delay before reconnect attempt n (0-based): exponential from
// lo, capped at hi, with "equal jitter" (a random point in the upper half) so
// that a hub restart does not bring every agent back in the same instant, yet
// no agent retries in a tight loop. r is a random number in [0,1).
func backoff(attempt int, lo, hi time.Duration, r float64) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		if d > hi/2 {
			d = hi
			break
		}
		d *= 2
	}
	d = min(d, hi)
	r = min(max(r, 0), 1)
	half := d / 2
	return half + time.Duration(r*float64(d-half))
}

// Request sends an agent → hub request and waits for its answer: the ack's
// data, a *RemoteError, ErrNotConnected (also when the connection drops
// while waiting), or ctx's error. Give ctx a deadline: a hub that ignores a
// request type it does not know never answers.
func (c *Client) Request(ctx context.Context, typ string, data any) (json.RawMessage, error) {
	c.mu.Lock()
	s := c.live
	c.mu.Unlock()
	if s == nil {
		return nil, fmt.Errorf("send %s: %w", typ, ErrNotConnected)
	}
	id := "r" + strconv.FormatUint(c.nextID.Add(1), 10)
	env, err := NewEnvelope(typ, id, data)
	if err != nil {
		return nil, err
	}
	frame, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode %s request: %w", typ, err)
	}
	reply := make(chan Envelope, 1)
	if !s.await(id, reply) {
		return nil, fmt.Errorf("send %s: %w", typ, ErrNotConnected)
	}
	defer s.forget(id)
	select {
	case s.queue <- frame:
	case <-s.done:
		return nil, fmt.Errorf("send %s: %w", typ, ErrNotConnected)
	case <-ctx.Done():
		return nil, fmt.Errorf("send %s: %w", typ, ctx.Err())
	}
	select {
	case r := <-reply:
		return answer(r)
	case <-s.done:
		select {
		case r := <-reply: // answered just before the drop
			return answer(r)
		default:
		}
		return nil, fmt.Errorf("wait for %s answer: %w", typ, ErrNotConnected)
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for %s answer: %w", typ, ctx.Err())
	}
}

func answer(env Envelope) (json.RawMessage, error) {
	if env.Type == TypeAck {
		return env.Data, nil
	}
	body, err := DecodeData[ErrorBody](env)
	if err != nil || body.Code == "" {
		return nil, &RemoteError{Code: CodeInternal, Message: "malformed error answer"}
	}
	re := &RemoteError{Code: body.Code, Message: body.Message}
	if body.RetryAfterSeconds > 0 && body.RetryAfterSeconds < 24*3600 {
		re.RetryAfter = time.Duration(body.RetryAfterSeconds * float64(time.Second))
	}
	return nil, re
}

func emit(ctx context.Context, out chan<- Event, ev Event) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// redact is a last line of defence: the token is never put into an error on
// purpose, but a proxy or a hub bug might echo it, and errors end up in logs
// and on screen.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return redacted{err: err, secret: secret}
}

type redacted struct {
	err    error
	secret string
}

func (r redacted) Error() string { return strings.ReplaceAll(r.err.Error(), r.secret, "[redacted]") }
func (r redacted) Unwrap() error { return r.err }
