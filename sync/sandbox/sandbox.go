package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

// Default credentials of the fakes. They are not secrets: the sandbox is a
// local toy, and the demo passes them to the hub the same way real ones are.
const (
	DefaultChaportToken   = "sandbox-chaport-token"
	DefaultOmnideskEmail  = "api@acme.test"
	DefaultOmnideskAPIKey = "sandbox-omnidesk-key"
)

// Config sets up a sandbox. Zero values take the defaults.
type Config struct {
	ChaportListen  string // default 127.0.0.1:0
	OmnideskListen string // default 127.0.0.1:0
	ControlListen  string // default 127.0.0.1:0

	ChaportToken   string
	OmnideskEmail  string
	OmnideskAPIKey string

	// Clock drives leases and the rate-limit window; default the wall clock.
	// The control surface can move it forward on top of this.
	Clock clock.Clock

	Chaport  ChaportSettings
	Omnidesk OmnideskSettings
	// Seed makes fault injection repeatable.
	Seed uint64
}

// Sandbox is a running pair of fakes with their control surface.
type Sandbox struct {
	cfg   Config
	clock *shiftClock

	mu        sync.Mutex
	chaportS  ChaportSettings
	omnideskS OmnideskSettings
	statuses  []*staffStatus
	staff     []*staff
	operators []*operator
	chats     *chatStore
	budget    budgetWindow
	faults    map[string]*faultState
	log       callLog

	servers   []*http.Server
	listeners []net.Listener

	ChaportURL  string // e.g. http://127.0.0.1:41234 (API under /api/v1)
	OmnideskURL string // e.g. http://127.0.0.1:41235 (API under /api)
	ControlURL  string // control page; JSON controls under /_sandbox/
}

// New builds a sandbox with the seed data; Start opens its ports.
func New(cfg Config) *Sandbox {
	if cfg.ChaportToken == "" {
		cfg.ChaportToken = DefaultChaportToken
	}
	if cfg.OmnideskEmail == "" {
		cfg.OmnideskEmail = DefaultOmnideskEmail
	}
	if cfg.OmnideskAPIKey == "" {
		cfg.OmnideskAPIKey = DefaultOmnideskAPIKey
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	s := &Sandbox{cfg: cfg, clock: &shiftClock{base: cfg.Clock}}
	now := s.clock.Now()
	s.chaportS = cfg.Chaport.withDefaults()
	s.omnideskS = cfg.Omnidesk.withDefaults()
	s.statuses = seedStatuses()
	s.staff = seedStaff(now)
	s.operators = seedOperators(now)
	s.chats = newChatStore(now)
	s.faults = map[string]*faultState{
		serviceChaport:  newFaultState(cfg.Seed + 1),
		serviceOmnidesk: newFaultState(cfg.Seed + 2),
	}
	return s
}

// Start listens on the three loopback ports and serves until Close or ctx ends.
func (s *Sandbox) Start(ctx context.Context) error {
	type srv struct {
		addr    *string
		def     string
		h       http.Handler
		url     *string
		service string
	}
	for _, x := range []srv{
		{&s.cfg.ChaportListen, "127.0.0.1:0", s.faulty(serviceChaport, s.chaportAPI()), &s.ChaportURL, serviceChaport},
		{&s.cfg.OmnideskListen, "127.0.0.1:0", s.faulty(serviceOmnidesk, s.omnideskAPI()), &s.OmnideskURL, serviceOmnidesk},
		{&s.cfg.ControlListen, "127.0.0.1:0", s.controlHandler(), &s.ControlURL, "control"},
	} {
		addr := *x.addr
		if addr == "" {
			addr = x.def
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.Close()
			return &ListenError{Service: x.service, Addr: addr, Err: err}
		}
		s.listeners = append(s.listeners, ln)
		*x.url = "http://" + ln.Addr().String()
		hs := &http.Server{Handler: x.h, ReadHeaderTimeout: 10 * time.Second}
		s.servers = append(s.servers, hs)
		go func() {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				// A fake that stopped serving shows up as refused connections in
				// the tests that use it; nothing more useful can be done here.
				_ = err
			}
		}()
	}
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	return nil
}

// Close stops all servers at once.
func (s *Sandbox) Close() {
	for _, hs := range s.servers {
		_ = hs.Close()
	}
}

// Advance moves the sandbox clock forward, as the control surface does.
func (s *Sandbox) Advance(d time.Duration) { s.clock.advance(d) }

// Now reads the sandbox clock.
func (s *Sandbox) Now() time.Time { return s.clock.Now() }

// shiftClock is the configured clock plus an offset that the control surface
// can grow, so that even a sandbox on the wall clock can skip ahead.
type shiftClock struct {
	base   clock.Clock
	mu     sync.Mutex
	offset time.Duration
}

func (c *shiftClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Now().Add(c.offset)
}

func (c *shiftClock) advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Endpoints are where the fakes listen and the credentials they accept, in
// the shape of hub.Vendors (convert with hub.Vendors(sb.Endpoints())).
type Endpoints struct {
	OmnideskURL, OmnideskEmail, OmnideskAPIKey string
	ChaportURL, ChaportToken                   string
}

// Endpoints returns the running sandbox's endpoints; call it after Start.
func (s *Sandbox) Endpoints() Endpoints {
	return Endpoints{OmnideskURL: s.OmnideskURL, OmnideskEmail: s.cfg.OmnideskEmail,
		OmnideskAPIKey: s.cfg.OmnideskAPIKey, ChaportURL: s.ChaportURL, ChaportToken: s.cfg.ChaportToken}
}

// ListenError is a port the sandbox could not listen on; Service says which
// of its three ("chaport", "omnidesk" or "control"), so that the command
// can name the flag that moves it.
type ListenError struct {
	Service string
	Addr    string
	Err     error
}

func (e *ListenError) Error() string {
	what := map[string]string{serviceChaport: "the fake Chaport API", serviceOmnidesk: "the fake Omnidesk API"}[e.Service]
	if what == "" {
		what = "the control page"
	}
	return fmt.Sprintf("listening on %s for %s: %v", e.Addr, what, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }
