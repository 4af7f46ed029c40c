package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/vendorapi"
	"golang.org/x/time/rate"
)

// session is one connected agent.
type session struct {
	hub     *Hub
	staffID int64
	token   Claims // checked again while the session lives (sessionauth.go)
	conn    *feed.ServerConn
	// requests is this connection's budget for requests that cost a
	// vendor call (limits.requests_per_minute).
	requests *rate.Limiter
	// seq orders a staff member's sessions by age, for the session cap;
	// set by the subscriber registry when the session joins. joined orders
	// them across replicas (remotedevices.go).
	seq    uint64
	joined time.Time
	// instance is the agent's feed.InstanceHeader ("" for an old agent).
	instance string
	// device is the computer, as its agent reports it (devices.go);
	// written by the subscriber registry, under the directory's lock.
	device device
	// readingHistory: one history read at a time, off the request loop.
	readingHistory atomic.Bool
}

func (s *session) send(env feed.Envelope) {
	if err := s.conn.Send(env); err != nil {
		s.hub.log.Debug("dropping a slow or closed agent", "staff", s.staffID, "err", err)
	}
}

func (h *Hub) serveHealth(w http.ResponseWriter, r *http.Request) {
	ready, staff, agents := h.dir.isReady()
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	health := map[string]any{"ok": ready, "staff": staff, "agents": agents,
		"poll_spacing": h.pace.interval().String()}
	if until := h.pace.holdUntil(); until.After(h.clock.Now()) {
		// A hub holding back on Omnidesk's request says so, or an operator
		// sees only a 503 and a quiet log.
		health["omnidesk_wait_until"] = until.UTC().Format(time.RFC3339)
		health["omnidesk_wait"] = "Omnidesk asked the hub to wait (retry_after); no calls until then"
	}
	if h.rep != nil {
		// A follower is ok once it has the leader's first whole poll; it
		// says whether it still hears from a leader.
		c := h.rep.r.Health()
		health["role"], health["cluster"] = c.Role, c
	}
	_ = json.NewEncoder(w).Encode(health)
}

func (h *Hub) serveFeed(w http.ResponseWriter, r *http.Request) {
	claims, err := h.admit(w, r)
	staffID := claims.Staff
	if err != nil {
		// The reason goes to the log and the agent; the token itself never
		// does. Anyone can send handshakes, so the log gets one line per
		// source and minute, with a count, not one per attempt.
		h.minuteLog.note(r.RemoteAddr, err.Error())
		http.Error(w, "token refused: "+err.Error(), http.StatusUnauthorized)
		return
	}
	if ready, _, _ := h.dir.isReady(); !ready {
		http.Error(w, "hub is starting: no Omnidesk data yet", http.StatusServiceUnavailable)
		return
	}
	if _, _, known := h.dir.current(staffID); !known {
		h.minuteLog.note(r.RemoteAddr, fmt.Sprintf("token names staff %d, who is not in Omnidesk", staffID))
		http.Error(w, fmt.Sprintf("staff %d is not in Omnidesk", staffID), http.StatusForbidden)
		return
	}
	conn, err := feed.Accept(w, r, h.cfg.Feed)
	if err != nil {
		h.log.Debug("websocket upgrade failed", "err", err)
		return
	}
	s := &session{hub: h, staffID: staffID, token: claims, joined: h.clock.Now(), instance: feed.AgentInstance(r), conn: conn, requests: h.cfg.File.Limits.newRequestLimiter(),
		device: device{since: h.clock.Now()}}
	joined, evicted, err := h.dir.join(staffID, s, h.cfg.File.Limits.SessionsPerStaff, h.cfg.OmnideskURL, func(snap feed.Snapshot) error {
		env, err := feed.NewEnvelope(feed.TypeSnapshot, "", h.withChaport(snap))
		if err != nil {
			return err
		}
		return conn.Send(env)
	})
	if !joined || err != nil {
		_ = conn.Close()
		return
	}
	h.log.Info("agent connected", "staff", staffID, "remote", r.RemoteAddr)
	for _, old := range evicted {
		h.minuteLog.event(fmt.Sprintf("staff %d", staffID), "closing an employee's oldest connection: over limits.sessions_per_staff",
			"staff", staffID, "limit", h.cfg.File.Limits.SessionsPerStaff)
		go func() {
			old.conn.CloseWith(feed.CloseTooManySessions, fmt.Sprintf(
				"replaced by a newer connection: at most %d at once per employee", h.cfg.File.Limits.SessionsPerStaff))
		}()
	}
	h.pushDevices(staffID)
	// The session outlives this handler: returning lets net/http free the
	// request and its buffers, which a hub holding thousands of agents
	// would otherwise keep for every one of them.
	go func() {
		defer h.pushDevices(staffID) // after the unsubscribe below
		defer h.dir.unsubscribe(staffID, s)
		defer h.tokens.track(s)()
		ctx, cancel := context.WithCancel(h.ctx)
		defer cancel()
		go s.handleRequests(ctx)
		err := conn.Serve(ctx)
		level := slog.LevelInfo
		if ce := (*feed.CloseError)(nil); errors.As(err, &ce) && ce.Code == feed.CloseTooManySessions {
			level = slog.LevelDebug // said once a minute for the employee, above
		}
		h.log.Log(context.Background(), level, "agent disconnected", "staff", staffID, "reason", err)
	}()
}

func (s *session) handleRequests(ctx context.Context) {
	for env := range s.conn.Requests() {
		// Nothing beyond the connection's budget: most requests cost a
		// vendor call, the others disk or fan-out work.
		if ok, retry := take(s.requests, s.hub.clock.Now()); !ok {
			s.reply(env, nil, &limitError{what: "too many requests from this connection", retry: retry})
			continue
		}
		switch env.Type {
		case feed.TypeSetChaport:
			data, err := s.setChaport(ctx, env)
			s.reply(env, data, err)
		case feed.TypeExtendOnline:
			data, err := s.extendOnline(ctx, env)
			s.reply(env, data, err)
		case feed.TypeReadOperator:
			data, err := s.readOperator(ctx)
			s.reply(env, data, err)
		case feed.TypePresence:
			data, err := s.presence(ctx, env)
			s.reply(env, data, err)
		case feed.TypeHistory, feed.TypeToday:
			// Reading the history may touch files: never ahead of the
			// lease writes queued behind it. One read at a time.
			if !s.readingHistory.CompareAndSwap(false, true) {
				s.reply(env, nil, &limitError{what: "a history read is already under way", retry: time.Second})
				continue
			}
			go func() {
				read := s.history
				if env.Type == feed.TypeToday {
					read = s.today
				}
				data, err := read(env)
				// Free before the answer goes out: an agent that asks again
				// as soon as it has the answer must not be refused.
				s.readingHistory.Store(false)
				s.reply(env, data, err)
			}()
		case feed.TypeSwitchStatus:
			// A switch may wait for Omnidesk budget; it must not hold up
			// lease renewals behind it. One per employee at a time, a few
			// a minute: each one spends the company's shared budget.
			if err := s.hub.switches.enter(s.staffID, s.hub.clock.Now()); err != nil {
				s.reply(env, nil, err)
				continue
			}
			go func() {
				defer s.hub.switches.leave(s.staffID)
				data, err := s.switchStatus(ctx, env)
				s.reply(env, data, err)
			}()
		}
	}
}

// reply answers a request with an ack or an error.
func (s *session) reply(req feed.Envelope, data any, err error) {
	if err == nil {
		if data == nil {
			data = struct{}{}
		}
		_ = s.conn.Reply(req, data)
		return
	}
	var re *feed.RemoteError
	var le *limitError
	switch {
	case errors.As(err, &le):
		re = &feed.RemoteError{Code: feed.CodeRateLimited, Message: le.what + "; try again shortly", RetryAfter: le.retry}
	case !errors.As(err, &re):
		re = &feed.RemoteError{Code: feed.CodeInternal, Message: "internal error"}
		s.hub.log.Error("handling an agent request", "staff", s.staffID, "type", req.Type, "err", err)
	}
	body := feed.ErrorBody{Code: re.Code, Message: re.Message}
	if re.RetryAfter > 0 {
		body.RetryAfterSeconds = max(re.RetryAfter.Seconds(), 0.001)
	}
	_ = s.conn.ReplyErrorBody(req, body)
}

func refuse(code, format string, a ...any) error {
	return &feed.RemoteError{Code: code, Message: fmt.Sprintf(format, a...)}
}

// vendorRefusal turns a vendor error into the code the agent acts on.
func vendorRefusal(service string, err error) error {
	var ve *vendorapi.Error
	msg := ""
	if errors.As(err, &ve) && ve.Message != "" {
		msg = ": " + ve.Message
	}
	switch {
	case errors.Is(err, vendorapi.ErrRateLimited):
		re := &feed.RemoteError{Code: feed.CodeRateLimited, Message: service + " is rate limiting; try again shortly"}
		re.RetryAfter, _ = vendorapi.RetryAfter(err)
		return re
	case errors.Is(err, vendorapi.ErrBadRequest), errors.Is(err, vendorapi.ErrForbidden),
		errors.Is(err, vendorapi.ErrNotFound):
		return refuse(feed.CodeRefused, "%s refused it%s", service, msg)
	default:
		return refuse(feed.CodeUnavailable, "%s could not be reached", service)
	}
}

func (s *session) setChaport(ctx context.Context, env feed.Envelope) (any, error) {
	req, err := feed.DecodeData[feed.SetChaport](env)
	if err != nil {
		return nil, refuse(feed.CodeBadRequest, "bad set_chaport payload")
	}
	return s.askWrite(ctx, s.writeAskFor(false, req.Status, req.TTLSeconds, req.OperatorID), req.Why)
}

// writeChaport performs the write and remembers an online lease for later
// extensions.
func (s *session) writeChaport(ctx context.Context, op feed.Operator, status chaport.Status, ttl time.Duration, why feed.Why) (any, error) {
	res, err := s.hub.cfg.Chaport.SetOperatorStatus(ctx, op.ID, status, ttl)
	if err != nil {
		s.hub.log.Warn("Chaport status write failed", "staff", s.staffID, "operator", op.ID, "err", err)
		return nil, vendorRefusal("Chaport", err)
	}
	expires := s.hub.clock.Now().Add(ttl)
	s.hub.opStatus.note(op.ID, res, s.hub.clock.Now())
	until := time.Time{}
	if status == chaport.Online {
		until = expires
	}
	s.hub.dir.setOnlineUntil(op.ID, until)
	s.hub.rep.publish(subjectLease, leaseMsg{Operator: op.ID, Until: until})
	s.hub.log.Info("Chaport status written", "staff", s.staffID, "operator", op.ID, "status", status, "ttl", ttl)
	s.hub.recordWrite(s.staffID, string(status), expires, why, s.hub.dir.hostOf(s))
	return feed.ChaportState{Status: status, LastStatus: res.LastStatus,
		RealStatus: res.RealStatus, ExpiresAt: expires, TTLSeconds: int(ttl / time.Second)}, nil
}

// extendOnline renews a live online lease, also during the grace delay
// after chat access ended (mayWrite says how long).
func (s *session) extendOnline(ctx context.Context, env feed.Envelope) (any, error) {
	req, err := feed.DecodeData[feed.ExtendOnline](env)
	if err != nil {
		return nil, refuse(feed.CodeBadRequest, "bad extend_online payload")
	}
	return s.askWrite(ctx, s.writeAskFor(true, chaport.Online, req.TTLSeconds, ""), req.Why)
}

func (s *session) readOperator(ctx context.Context) (any, error) {
	op, linked := s.hub.dir.operatorFor(s.staffID)
	if !linked {
		return nil, refuse(feed.CodeNotLinked, "no Chaport operator is linked to this staff member")
	}
	res, err := s.hub.cfg.Chaport.GetOperator(ctx, op.ID)
	if err != nil {
		return nil, vendorRefusal("Chaport", err)
	}
	s.hub.opStatus.note(op.ID, res, s.hub.clock.Now())
	return feed.ChaportState{Status: res.RealStatus, LastStatus: res.LastStatus,
		RealStatus: res.RealStatus}, nil
}

func (s *session) switchStatus(ctx context.Context, env feed.Envelope) (any, error) {
	req, err := feed.DecodeData[feed.SwitchStatus](env)
	if err != nil || req.StatusID <= 0 {
		return nil, refuse(feed.CodeBadRequest, "bad switch_status payload")
	}
	if !s.hub.dir.statusUsable(req.StatusID) {
		return nil, refuse(feed.CodeBadRequest, "status %d is not an active Omnidesk status", req.StatusID)
	}
	// Done only once Omnidesk shows it (switch.go), and by the leader,
	// which alone spends the company's Omnidesk budget.
	host := s.hub.dir.hostOf(s)
	if !s.hub.rep.isLeading() {
		return s.hub.forwardSwitch(ctx, s.staffID, req.StatusID, host)
	}
	return s.hub.confirmSwitch(ctx, s.staffID, req.StatusID, host)
}
