package sandbox

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html
var controlPage []byte

// controlHandler serves the control page and the JSON test controls. The
// "/_sim/" aliases follow the names used in docs/vendor-contract.md
func (s *Sandbox) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'")
		_, _ = w.Write(controlPage)
	})
	for _, prefix := range []string{"/_sandbox", "/_sim"} {
		mux.HandleFunc("POST "+prefix+"/staff/{id}/status", s.ctlStaffStatus)
		mux.HandleFunc("POST "+prefix+"/staff/{id}/email", s.ctlStaffEmail)
		mux.HandleFunc("POST "+prefix+"/operators/{id}/ui-status", s.ctlOperatorUI)
		mux.HandleFunc("POST "+prefix+"/chats", s.ctlStartChat)
		mux.HandleFunc("POST "+prefix+"/chats/{vid}/events", s.ctlAppendChat)
	}
	mux.HandleFunc("POST /_sandbox/statuses", s.ctlAddStatus)
	mux.HandleFunc("POST /_sandbox/statuses/{id}", s.ctlRenameStatus)
	mux.HandleFunc("GET /_sandbox/state", s.ctlState)
	mux.HandleFunc("GET /_sandbox/calls", s.ctlCalls)
	mux.HandleFunc("POST /_sandbox/clock/advance", s.ctlAdvance)
	mux.HandleFunc("POST /_sandbox/faults/{service}", s.ctlFaults)
	mux.HandleFunc("POST /_sandbox/settings/chaport", s.ctlChaportSettings)
	mux.HandleFunc("POST /_sandbox/settings/omnidesk", s.ctlOmnideskSettings)
	return mux
}

func ctlError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// decodeStrict reads a small JSON body, refusing unknown fields so that a typo
// in a test's control call fails loudly instead of doing nothing.
func decodeStrict(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding body: %w", err)
	}
	return nil
}

// SetStaffStatus changes a staff member's status as a person in the Omnidesk
// UI would.
func (s *Sandbox) SetStaffStatus(staffID, statusID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.findStatus(statusID); ss == nil || !ss.Active {
		return fmt.Errorf("unknown status %d", statusID)
	}
	for _, st := range s.staff {
		if st.ID == staffID {
			st.StatusID, st.UpdatedAt = statusID, s.clock.Now()
			return nil
		}
	}
	return fmt.Errorf("unknown staff %d", staffID)
}

// maxEmailLen is the longest address RFC 5321 allows in a path.
const maxEmailLen = 254

// SetStaffEmail changes a staff member's e-mail as an Omnidesk admin (or the
// staff member, in their profile) would. The hub links staff to Chaport
// operators by e-mail, so tests use it to move an address around; it does
// not check that the address is unused, so that a test can give two staff
// one address. It must look like an address: one "@" with text on both
// sides, no spaces or control characters, at most 254 bytes.
func (s *Sandbox) SetStaffEmail(staffID int64, email string) error {
	if err := checkEmail(email); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.staff {
		if st.ID == staffID {
			st.Email, st.UpdatedAt = email, s.clock.Now()
			return nil
		}
	}
	return fmt.Errorf("unknown staff %d", staffID)
}

func checkEmail(email string) error {
	local, domain, ok := strings.Cut(email, "@")
	switch {
	case len(email) > maxEmailLen:
		return fmt.Errorf("email is longer than %d bytes", maxEmailLen)
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@"):
		return fmt.Errorf("email %q is not of the form name@domain", email)
	case strings.IndexFunc(email, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return fmt.Errorf("email %q has a space or a control character", email)
	}
	return nil
}

func (s *Sandbox) ctlStaffEmail(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var body struct {
		Email string `json:"email"`
	}
	if err == nil {
		err = decodeStrict(r, &body)
	}
	if err == nil {
		err = s.SetStaffEmail(id, body.Email)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// SetOperatorUIStatus changes an operator's status as a person in Chaport's
// own UI would: it holds without a lease.
func (s *Sandbox) SetOperatorUIStatus(id, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.findOperator(id)
	if o == nil {
		return fmt.Errorf("unknown operator %q", id)
	}
	valid := false
	for _, v := range s.chaportS.Statuses {
		valid = valid || v == status
	}
	if !valid {
		return fmt.Errorf("unknown status %q", status)
	}
	o.LastStatus, o.Manual, o.LeaseUntil = status, status != "offline", time.Time{}
	return nil
}

func (s *Sandbox) ctlStaffStatus(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var body struct {
		StatusID int64 `json:"status_id"`
	}
	if err == nil {
		err = decodeStrict(r, &body)
	}
	if err == nil {
		err = s.SetStaffStatus(id, body.StatusID)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// RenameStatus renames a status as an Omnidesk admin would; names are
// admin-typed text, so tests use it to check they are treated as untrusted.
func (s *Sandbox) RenameStatus(id int64, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.findStatus(id)
	if st == nil {
		return fmt.Errorf("unknown status %d", id)
	}
	if name == "" || len(name) > 200 {
		return fmt.Errorf("name must be 1 to 200 bytes")
	}
	st.Name = name
	return nil
}

// AddStatus creates a custom status as an Omnidesk admin would. chatAccess
// is its "access to active chats" setting, which the real API does not show:
// the hub learns it only from its chat_access config, so a test that adds a
// status with access must also configure the hub, as a real admin must.
func (s *Sandbox) AddStatus(id int64, name string, chatAccess bool) error {
	if id <= 3 {
		return fmt.Errorf("id %d: custom statuses need an id above 3 (1–3 are the standard ones)", id)
	}
	if name == "" || len(name) > 200 {
		return fmt.Errorf("name must be 1 to 200 bytes")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findStatus(id) != nil {
		return fmt.Errorf("status %d exists; rename it with POST /_sandbox/statuses/%d", id, id)
	}
	s.statuses = append(s.statuses, &staffStatus{ID: id, Name: name, Active: true, ChatAccess: chatAccess})
	return nil
}

func (s *Sandbox) ctlAddStatus(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		ChatAccess bool   `json:"chat_access"`
	}
	err := decodeStrict(r, &body)
	if err == nil {
		err = s.AddStatus(body.ID, body.Name, body.ChatAccess)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Sandbox) ctlRenameStatus(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var body struct {
		Name string `json:"name"`
	}
	if err == nil {
		err = decodeStrict(r, &body)
	}
	if err == nil {
		err = s.RenameStatus(id, body.Name)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Sandbox) ctlOperatorUI(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Status string `json:"status"`
	}
	err := decodeStrict(r, &body)
	if err == nil {
		err = s.SetOperatorUIStatus(r.PathValue("id"), body.Status)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Sandbox) ctlStartChat(w http.ResponseWriter, r *http.Request) {
	var body struct {
		VisitorName  string        `json:"visitor_name"`
		VisitorEmail string        `json:"visitor_email"`
		Events       []ScriptEvent `json:"events"`
	}
	err := decodeStrict(r, &body)
	var out ScriptedChat
	if err == nil {
		out, err = s.StartChat(body.VisitorName, body.VisitorEmail, body.Events)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) ctlAppendChat(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Events []ScriptEvent `json:"events"`
	}
	err := decodeStrict(r, &body)
	var out ScriptedChat
	if err == nil {
		out, err = s.AppendChat(r.PathValue("vid"), body.Events)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) ctlCalls(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.Atoi(r.URL.Query().Get("since"))
	writeJSON(w, http.StatusOK, s.Calls(r.URL.Query().Get("service"), since))
}

func (s *Sandbox) ctlAdvance(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Seconds float64 `json:"seconds"`
	}
	if err := decodeStrict(r, &body); err != nil || body.Seconds <= 0 || body.Seconds > 365*24*3600 {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("seconds must be a positive number"))
		return
	}
	s.Advance(time.Duration(body.Seconds * float64(time.Second)))
	writeJSON(w, http.StatusOK, map[string]any{"now": chaportTime(s.Now())})
}

func (s *Sandbox) ctlFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	err := decodeStrict(r, &f)
	if err == nil {
		err = s.SetFaults(r.PathValue("service"), f)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Sandbox) ctlChaportSettings(w http.ResponseWriter, r *http.Request) {
	updateSettings(s, w, r, &s.chaportS)
}

func (s *Sandbox) ctlOmnideskSettings(w http.ResponseWriter, r *http.Request) {
	updateSettings(s, w, r, &s.omnideskS)
}

// updateSettings merges a JSON body into one group of knobs: fields the body
// leaves out keep their values.
func updateSettings[T interface{ withDefaults() T }](s *Sandbox, w http.ResponseWriter, r *http.Request, knobs *T) {
	s.mu.Lock()
	cur := *knobs
	s.mu.Unlock()
	if err := decodeStrict(r, &cur); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	cur = cur.withDefaults()
	s.mu.Lock()
	*knobs = cur
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, cur)
}
