package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// staffUpdate is the PUT body: {"staff": {…}} with the four profile fields
// the API documents, plus status_id, which the product sends and which the
// real service may apply, ignore or refuse (OmnideskSettings.StatusWrite).
// The reply, as documented for updates, carries no status fields.
type staffUpdate struct {
	Staff *struct {
		Email         *string          `json:"staff_email"`
		FullName      *string          `json:"staff_full_name"`
		Signature     *string          `json:"staff_signature"`
		SignatureChat *string          `json:"staff_signature_chat"`
		StatusID      *json.RawMessage `json:"status_id"`
	} `json:"staff"`
}

func (s *Sandbox) omnideskUpdateStaff(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		omnideskError(w, http.StatusBadRequest, err.Error())
		return
	}
	var up staffUpdate
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&up); err != nil || up.Staff == nil {
		omnideskError(w, http.StatusBadRequest, "body must be {\"staff\": {…}} with known fields only")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.staffFromPath(w, r)
	if st == nil {
		return
	}
	var newStatus int64
	if up.Staff.StatusID != nil {
		if s.omnideskS.StatusWrite == StatusWriteRefuse {
			omnideskError(w, http.StatusBadRequest, "status_id cannot be changed through the API")
			return
		}
		if err := json.Unmarshal(*up.Staff.StatusID, &newStatus); err != nil {
			omnideskError(w, http.StatusBadRequest, "status_id must be an integer")
			return
		}
		if ss := s.findStatus(newStatus); ss == nil || !ss.Active {
			omnideskError(w, http.StatusBadRequest, fmt.Sprintf("unknown status_id %d", newStatus))
			return
		}
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&st.Email, up.Staff.Email)
	set(&st.FullName, up.Staff.FullName)
	set(&st.Signature, up.Staff.Signature)
	set(&st.SignatureChat, up.Staff.SignatureChat)
	// "ignore" is the silent no-op: the profile fields apply, the status
	// does not, and the answer is the same 200 as when it did.
	if newStatus != 0 && s.omnideskS.StatusWrite != StatusWriteIgnore {
		st.StatusID = newStatus
	}
	st.UpdatedAt = s.clock.Now()
	writeJSON(w, http.StatusOK, map[string]any{"staff": s.staffJSON(st, false)})
}
