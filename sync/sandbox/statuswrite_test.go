package sandbox

import (
	"strings"
	"testing"
)

// The status_write setting, set through the control surface as tests and
// people do: accept applies the switch, ignore answers 200 and changes
// nothing, refuse answers 400; anything else is refused with a message.
func TestOmnideskStatusWriteSetting(t *testing.T) {
	s, _ := startSandbox(t, Config{})
	if got := s.State().Omnidesk.StatusWrite; got != StatusWriteAccept {
		t.Fatalf("default status_write %q, want accept", got)
	}
	settings := s.ControlURL + "/_sandbox/settings/omnidesk"
	put := func(status string) call {
		return call{method: "PUT", url: s.OmnideskURL + "/api/staff/201.json",
			auth: omnideskAuth(DefaultOmnideskEmail, DefaultOmnideskAPIKey),
			body: `{"staff":{"status_id":` + status + `,"staff_signature":"— A."}}`}
	}
	for _, tc := range []struct {
		mode       string
		status     string
		wantCode   int
		wantStatus int64
	}{
		{"ignore", "1", 200, StatusOffline},
		{"accept", "1", 200, StatusOnline},
		{"refuse", "3", 400, StatusOnline},
		{"ignore", "3", 200, StatusOnline},
	} {
		runCalls(t, []call{{"set " + tc.mode, "POST", settings, nil, `{"status_write":"` + tc.mode + `"}`, 200, tc.mode}})
		code, body, _ := do(t, put(tc.status))
		if code != tc.wantCode {
			t.Fatalf("%s: PUT answered %d %s, want %d", tc.mode, code, body, tc.wantCode)
		}
		if got := s.State().Staff[0].StatusID; got != tc.wantStatus {
			t.Fatalf("%s: status %d after the PUT, want %d", tc.mode, got, tc.wantStatus)
		}
		// As documented for updates, a reply has the profile but no status,
		// whatever happened to the status.
		if code == 200 && (strings.Contains(body, "status_id") || !strings.Contains(body, `"staff_id":201`)) {
			t.Fatalf("%s: reply %s, want the profile without status fields", tc.mode, body)
		}
	}
	// The other fields of an ignored switch still apply.
	s.mu.Lock()
	sig := s.staff[0].Signature
	s.mu.Unlock()
	if sig != "— A." {
		t.Fatalf("signature %q after the writes", sig)
	}
	runCalls(t, []call{
		{"unknown mode", "POST", settings, nil, `{"status_write":"drop"}`, 400, `want accept, ignore or refuse`},
		{"not a string", "POST", settings, nil, `{"status_write":true}`, 400, `status_write`},
		{"old name", "POST", settings, nil, `{"refuse_status_write":true}`, 400, `unknown field`},
	})
	if got := s.State().Omnidesk.StatusWrite; got != StatusWriteIgnore {
		t.Fatalf("a refused setting changed status_write to %q", got)
	}
}
