package sandbox

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// OmnideskSettings are the fake Omnidesk's knobs.
type OmnideskSettings struct {
	// BudgetPerMinute is the account's request budget (default 20, the floor
	// of the Basic plan); writes cost 2.
	BudgetPerMinute int `json:"budget_per_minute"`
	// LegacyRateLimit answers over-budget calls the pre-2024 way: 403 with
	// "rate limit exceeded" instead of 429.
	LegacyRateLimit bool `json:"legacy_rate_limit"`
	// StatusWrite is what PUT /staff/{id}.json does with a status_id, which
	// no Omnidesk document covers: StatusWriteAccept (the default) applies
	// it, StatusWriteIgnore answers 200 with the unchanged record, and
	// StatusWriteRefuse answers 400 with a message.
	StatusWrite StatusWriteMode `json:"status_write"`
}

// StatusWriteMode is one of the StatusWrite* values.
type StatusWriteMode string

// The three answers the live service might give to a status switch.
const (
	StatusWriteAccept StatusWriteMode = "accept"
	StatusWriteIgnore StatusWriteMode = "ignore"
	StatusWriteRefuse StatusWriteMode = "refuse"
)

// ParseStatusWriteMode accepts exactly accept, ignore or refuse (or "" for
// the default): a typo in a test's setting must fail, not fall back.
func ParseStatusWriteMode(v string) (StatusWriteMode, error) {
	switch m := StatusWriteMode(v); m {
	case "":
		return StatusWriteAccept, nil
	case StatusWriteAccept, StatusWriteIgnore, StatusWriteRefuse:
		return m, nil
	}
	return "", fmt.Errorf("status_write %q: want accept, ignore or refuse", v)
}

// UnmarshalJSON refuses values other than the three modes.
func (m *StatusWriteMode) UnmarshalJSON(data []byte) error {
	var v string
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("status_write: want a string (accept, ignore or refuse): %w", err)
	}
	parsed, err := ParseStatusWriteMode(v)
	if err != nil {
		return err
	}
	*m = parsed
	return nil
}

func (o OmnideskSettings) withDefaults() OmnideskSettings {
	if o.BudgetPerMinute <= 0 {
		o.BudgetPerMinute = 20
	}
	if o.StatusWrite == "" {
		o.StatusWrite = StatusWriteAccept
	}
	return o
}

// budgetWindow counts spending in the current clock minute, as the real
// per-minute limit does.
type budgetWindow struct {
	start time.Time
	used  int
}

func (s *Sandbox) omnideskAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/staff.json", s.omnideskStaffList)
	mux.HandleFunc("GET /api/staff/{file}", s.omnideskStaff)
	mux.HandleFunc("PUT /api/staff/{file}", s.omnideskUpdateStaff)
	mux.HandleFunc("GET /api/staff_statuses.json", s.omnideskStatuses)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		omnideskError(w, http.StatusNotFound, "Not found")
	})
	return s.omnideskGate(mux)
}

func omnideskError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// omnideskGate checks Basic auth, then charges the call to the minute's budget
// and writes the rate-limit headers, with their real lowercase names.
func (s *Sandbox) omnideskGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || !constantTimeEqual(user, s.cfg.OmnideskEmail) || !constantTimeEqual(pass, s.cfg.OmnideskAPIKey) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Omnidesk API"`)
			omnideskError(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		cost := 1
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			cost = 2
		}
		s.mu.Lock()
		now := s.clock.Now()
		limit := s.omnideskS.BudgetPerMinute
		minute := now.Truncate(time.Minute)
		if !s.budget.start.Equal(minute) {
			s.budget = budgetWindow{start: minute}
		}
		over := s.budget.used+cost > limit
		if !over {
			s.budget.used += cost
		}
		legacy := s.omnideskS.LegacyRateLimit
		s.setBudgetHeaders(w.Header(), limit)
		s.mu.Unlock()

		h := w.Header()
		if over {
			if legacy {
				omnideskError(w, http.StatusForbidden, "Rate limit exceeded")
				return
			}
			wait := minute.Add(time.Minute).Sub(now)
			h["retry_after"] = []string{strconv.Itoa(int(math.Ceil(wait.Seconds())))}
			omnideskError(w, http.StatusTooManyRequests, "Too many requests")
			return
		}
		if rec, ok := w.(*statusRecorder); ok {
			rec.cost = cost
		}
		next.ServeHTTP(w, r)
	})
}

// omnideskTime is Omnidesk's date form, RFC 1123 with a numeric zone.
func omnideskTime(t time.Time) string { return t.In(moscow).Format(time.RFC1123Z) }

func (s *Sandbox) staffJSON(st *staff, withStatus bool) map[string]any {
	m := map[string]any{
		"staff_id": st.ID, "staff_email": st.Email, "staff_full_name": st.FullName,
		"staff_signature": st.Signature, "staff_signature_chat": st.SignatureChat,
		"thumbnail": "", "active": st.Active,
		"created_at": omnideskTime(st.CreatedAt), "updated_at": omnideskTime(st.UpdatedAt),
	}
	if withStatus {
		legacy := "online"
		if st.StatusID == StatusOffline {
			legacy = "offline"
		}
		m["status"], m["status_id"] = legacy, st.StatusID
	}
	return m
}

// indexedList writes Omnidesk's list shape: an object keyed "0", "1", … in
// index order (as the service sends it, not Go's sorted map order), each item
// wrapped once more, then the count key.
func indexedList(wrap string, items []any, countKey string, count int) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, it := range items {
		inner, _ := json.Marshal(map[string]any{wrap: it})
		fmt.Fprintf(&b, "\"%d\":%s,", i, inner)
	}
	fmt.Fprintf(&b, "%q:%d}", countKey, count)
	return b.Bytes()
}

func writeRaw(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

func positiveParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s must be a whole number from 1", name)
	}
	return n, nil
}

func (s *Sandbox) omnideskStaffList(w http.ResponseWriter, r *http.Request) {
	page, err := positiveParam(r, "page", 1)
	if err != nil {
		omnideskError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, err := positiveParam(r, "limit", 100)
	if err != nil {
		omnideskError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit = min(limit, 100)
	s.mu.Lock()
	defer s.mu.Unlock()
	from := min((page-1)*limit, len(s.staff))
	to := min(from+limit, len(s.staff))
	items := make([]any, 0, to-from)
	for _, st := range s.staff[from:to] {
		items = append(items, s.staffJSON(st, true))
	}
	writeRaw(w, indexedList("staff", items, "total_count", len(s.staff)))
}

// staffFromPath reads "{id}.json" and finds that staff member.
func (s *Sandbox) staffFromPath(w http.ResponseWriter, r *http.Request) *staff {
	idText, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		omnideskError(w, http.StatusNotFound, "Not found")
		return nil
	}
	for _, st := range s.staff {
		if st.ID == id {
			return st
		}
	}
	omnideskError(w, http.StatusNotFound, "Staff not found")
	return nil
}

func (s *Sandbox) omnideskStaff(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.staffFromPath(w, r); st != nil {
		writeJSON(w, http.StatusOK, map[string]any{"staff": s.staffJSON(st, true)})
	}
}

func (s *Sandbox) omnideskStatuses(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	items := make([]any, 0, len(s.statuses))
	for _, st := range s.statuses {
		items = append(items, map[string]any{"status_id": st.ID, "status": st.Name, "active": st.Active})
	}
	writeRaw(w, indexedList("staff_statuses", items, "count", len(s.statuses)))
}

func (s *Sandbox) findStatus(id int64) *staffStatus {
	for _, st := range s.statuses {
		if st.ID == id {
			return st
		}
	}
	return nil
}

// setBudgetHeaders writes the rate-limit headers every Omnidesk response
// carries, with their real lowercase names, from the current minute's
// spending; called under s.mu. api_calls_left is never negative: a budget
// lowered mid-minute (a settings call) leaves none, not minus some.
func (s *Sandbox) setBudgetHeaders(h http.Header, limit int) {
	if !s.budget.start.Equal(s.clock.Now().Truncate(time.Minute)) {
		s.budget = budgetWindow{start: s.clock.Now().Truncate(time.Minute)}
	}
	h["rate_limit_per_minute"] = []string{strconv.Itoa(limit)}
	h["api_calls_left"] = []string{strconv.Itoa(max(limit-s.budget.used, 0))}
}
