package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChaportSettings hold the facts about Chaport that are unconfirmed
// (docs/vendor-contract.md); each default is the best guess.
type ChaportSettings struct {
	StatusField string   `json:"status_field"` // default "status"
	TTLField    string   `json:"ttl_field"`    // default "ttl"
	UntilField  string   `json:"until_field"`  // default "validUntil"
	Statuses    []string `json:"statuses"`     // default online, offline, invisible
	// LegacyAuthHeader also accepts the old docs' "Authentication: Bearer".
	LegacyAuthHeader bool `json:"legacy_auth_header"`
	// SwallowWrites answers status writes with 200 but changes nothing, to
	// test read-back checks.
	SwallowWrites      bool   `json:"swallow_writes"`
	BotEventType       string `json:"bot_event_type"`       // default "bot-message"
	OperatorChangeType string `json:"operator_change_type"` // default "operator-joined"
	EventTimeField     string `json:"event_time_field"`     // default "createdAt"
	VisitorsPageSize   int    `json:"visitors_page_size"`   // default 20
}

func (c ChaportSettings) withDefaults() ChaportSettings {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.StatusField, "status")
	def(&c.TTLField, "ttl")
	def(&c.UntilField, "validUntil")
	def(&c.BotEventType, "bot-message")
	def(&c.OperatorChangeType, "operator-joined")
	def(&c.EventTimeField, "createdAt")
	if len(c.Statuses) == 0 {
		c.Statuses = []string{"online", "offline", "invisible"}
	}
	if c.VisitorsPageSize <= 0 {
		c.VisitorsPageSize = 20
	}
	return c
}

// chaportTime is Chaport's timestamp form: UTC with milliseconds and Z.
func chaportTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// maxRequestBody bounds what the fakes read from a client.
const maxRequestBody = 1 << 20

func (s *Sandbox) chaportAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/me.json", s.chaportMe)
	mux.HandleFunc("GET /api/v1/operators", s.chaportOperators)
	mux.HandleFunc("GET /api/v1/operators/{id}", s.chaportOperator)
	mux.HandleFunc("POST /api/v1/operators/{id}/status", s.chaportSetStatus)
	mux.HandleFunc("GET /api/v1/visitors", s.chaportVisitors)
	mux.HandleFunc("GET /api/v1/visitors/{vid}", s.chaportVisitor)
	mux.HandleFunc("GET /api/v1/visitors/{vid}/chats", s.chaportLatestChat)
	mux.HandleFunc("GET /api/v1/visitors/{vid}/chats/{cid}", s.chaportChat)
	mux.HandleFunc("GET /api/v1/visitors/{vid}/chats/{cid}/events", s.chaportChatEvents)
	mux.HandleFunc("GET /api/v1/events/subscriptions", s.chaportSubscriptions)
	mux.HandleFunc("POST /api/v1/events/subscriptions", s.chaportSubscribe)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		chaportError(w, http.StatusNotFound, "no such endpoint")
	})
	return s.chaportAuth(mux)
}

func chaportError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]string{"message": msg}})
}

func chaportResult(w http.ResponseWriter, v any) {
	writeJSON(w, http.StatusOK, map[string]any{"result": v})
}

func (s *Sandbox) chaportAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		legacy := s.chaportS.LegacyAuthHeader
		s.mu.Unlock()
		want := "Bearer " + s.cfg.ChaportToken
		got := r.Header.Get("Authorization")
		if got == "" && legacy {
			got = r.Header.Get("Authentication")
		}
		if !constantTimeEqual(got, want) {
			chaportError(w, http.StatusUnauthorized, "invalid access token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Sandbox) operatorJSON(o *operator, now time.Time) map[string]any {
	return map[string]any{
		"id": o.ID, "email": o.Email, "name": o.Name, "language": o.Language,
		"jobTitle": o.JobTitle, "role": o.Role,
		"lastLoginAt": chaportTime(o.LastLoginAt), "lastActivityAt": chaportTime(o.LastActivityAt),
		"image": "", "lastStatus": o.LastStatus, "realStatus": o.realStatus(now),
	}
}

func (s *Sandbox) findOperator(id string) *operator {
	for _, o := range s.operators {
		if o.ID == id {
			return o
		}
	}
	return nil
}

func (s *Sandbox) chaportMe(w http.ResponseWriter, r *http.Request) {
	chaportResult(w, map[string]any{"type": "api-token", "company": "Acme (sandbox)"})
}

func (s *Sandbox) chaportOperators(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	out := make([]map[string]any, 0, len(s.operators))
	for _, o := range s.operators {
		out = append(out, s.operatorJSON(o, now))
	}
	chaportResult(w, out)
}

func (s *Sandbox) chaportOperator(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.findOperator(r.PathValue("id"))
	if o == nil {
		chaportError(w, http.StatusNotFound, "operator not found")
		return
	}
	chaportResult(w, s.operatorJSON(o, s.clock.Now()))
}

// parseStatusWrite checks a status write body strictly: a JSON object with the
// status field and exactly one of the TTL and valid-until fields, nothing else.
func parseStatusWrite(body []byte, cfg ChaportSettings, now time.Time) (string, time.Time, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return "", time.Time{}, fmt.Errorf("body must be a JSON object")
	}
	for k := range fields {
		if k != cfg.StatusField && k != cfg.TTLField && k != cfg.UntilField {
			return "", time.Time{}, fmt.Errorf("unknown field %q", k)
		}
	}
	var status string
	if err := json.Unmarshal(fields[cfg.StatusField], &status); err != nil || status == "" {
		return "", time.Time{}, fmt.Errorf("%q must be a status string", cfg.StatusField)
	}
	if !slices.Contains(cfg.Statuses, status) {
		return "", time.Time{}, fmt.Errorf("status %q is not one of %s", status, strings.Join(cfg.Statuses, ", "))
	}
	ttlRaw, hasTTL := fields[cfg.TTLField]
	untilRaw, hasUntil := fields[cfg.UntilField]
	if hasTTL == hasUntil {
		return "", time.Time{}, fmt.Errorf("exactly one of %q and %q is required", cfg.TTLField, cfg.UntilField)
	}
	if hasTTL {
		n, err := strconv.ParseInt(string(ttlRaw), 10, 64)
		if err != nil || n <= 0 || n > 366*24*3600 {
			return "", time.Time{}, fmt.Errorf("%q must be a positive whole number of seconds", cfg.TTLField)
		}
		return status, now.Add(time.Duration(n) * time.Second), nil
	}
	var until string
	if err := json.Unmarshal(untilRaw, &until); err != nil {
		return "", time.Time{}, fmt.Errorf("%q must be an ISO-8601 string", cfg.UntilField)
	}
	t, err := time.Parse(time.RFC3339Nano, until)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%q must be an ISO-8601 time", cfg.UntilField)
	}
	if !t.After(now) {
		return "", time.Time{}, fmt.Errorf("%q is in the past", cfg.UntilField)
	}
	return status, t, nil
}

func (s *Sandbox) chaportSetStatus(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		chaportError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.findOperator(r.PathValue("id"))
	if o == nil {
		chaportError(w, http.StatusNotFound, "operator not found")
		return
	}
	now := s.clock.Now()
	status, until, err := parseStatusWrite(body, s.chaportS, now)
	if err != nil {
		chaportError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.chaportS.SwallowWrites {
		o.LastStatus, o.LeaseUntil, o.Manual = status, until, false
		o.LastActivityAt = now
	}
	chaportResult(w, s.operatorJSON(o, now))
}

func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, maxRequestBody)); err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	return buf.Bytes(), nil
}

func (s *Sandbox) chaportSubscriptions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// An empty list is [], as everywhere in Chaport's API: the project's own
	// client (strict to the contract) refuses {"result": null}.
	subs := s.chats.subscriptions
	if subs == nil {
		subs = []map[string]any{}
	}
	chaportResult(w, subs)
}

func (s *Sandbox) chaportSubscribe(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		chaportError(w, http.StatusBadRequest, err.Error())
		return
	}
	var sub struct {
		TargetURL string `json:"targetUrl"`
		Event     string `json:"event"`
		Essential bool   `json:"essential"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sub); err != nil || sub.TargetURL == "" || sub.Event == "" {
		chaportError(w, http.StatusBadRequest, "targetUrl and event are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	rec := map[string]any{"id": s.chats.newID(), "targetUrl": sub.TargetURL, "event": sub.Event,
		"essential": sub.Essential, "createdAt": chaportTime(now)}
	s.chats.subscriptions = append(s.chats.subscriptions, rec)
	chaportResult(w, rec)
}
