package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/omnitray/omnitray/sync/sandbox"
)

// Contract fidelity found by reading the fakes against
// docs/vendor-contract.md.

func get(t *testing.T, url string, auth func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func omnideskAuth(r *http.Request) {
	r.SetBasicAuth(sandbox.DefaultOmnideskEmail, sandbox.DefaultOmnideskAPIKey)
}

func TestNoSubscriptionsIsAnEmptyList(t *testing.T) {
	sb, _, _ := start(t, sandbox.Config{})
	resp, body := get(t, sb.ChaportURL+"/api/v1/events/subscriptions", func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+sandbox.DefaultChaportToken)
	})
	var env struct{ Result json.RawMessage }
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &env) != nil || string(env.Result) != "[]" {
		t.Fatalf("HTTP %d %s: want {\"result\":[]}", resp.StatusCode, body)
	}
}

func TestInjectedOmnideskFaultsCarryTheBudgetHeaders(t *testing.T) {
	sb, _, _ := start(t, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 30}})
	if err := sb.SetFaults("omnidesk", sandbox.Faults{Next: []string{"429", "500"}, RetryAfterSeconds: 7}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		code int
		left string
	}{{429, "0"}, {500, "30"}} {
		resp, body := get(t, sb.OmnideskURL+"/api/staff.json", omnideskAuth)
		h := resp.Header
		if resp.StatusCode != want.code || h.Get("rate_limit_per_minute") != "30" || h.Get("api_calls_left") != want.left {
			t.Fatalf("HTTP %d %s, headers %v: want %d with rate_limit_per_minute 30 and api_calls_left %s",
				resp.StatusCode, body, h, want.code, want.left)
		}
		if want.code == 429 && h.Get("retry_after") != "7" {
			t.Fatalf("injected 429 without retry_after: %v", h)
		}
	}
}

func TestAPICallsLeftIsNeverNegative(t *testing.T) {
	sb, _, _ := start(t, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 10}})
	for range 6 {
		get(t, sb.OmnideskURL+"/api/staff.json", omnideskAuth)
	}
	// The admin lowers the budget mid-minute: 6 spent of a new 2.
	if code := post(t, sb.ControlURL+"/_sandbox/settings/omnidesk", `{"budget_per_minute": 2}`); code != 200 {
		t.Fatalf("settings: HTTP %d", code)
	}
	resp, _ := get(t, sb.OmnideskURL+"/api/staff.json", omnideskAuth)
	if left := resp.Header.Get("api_calls_left"); left != "0" || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("HTTP %d, api_calls_left %q: want 429 and 0", resp.StatusCode, left)
	}
}

func TestCustomStatusFromTheControlPage(t *testing.T) {
	sb, _, oc := start(t, sandbox.Config{})
	ctx := context.Background()
	if code := post(t, sb.ControlURL+"/_sandbox/statuses", `{"id": 140001, "name": "Чаты и письма", "chat_access": true}`); code != 200 {
		t.Fatalf("create: HTTP %d", code)
	}
	sts, err := oc.StaffStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, st := range sts {
		found = found || (st.ID == 140001 && st.Name == "Чаты и письма" && st.Active)
	}
	if !found {
		t.Fatalf("catalogue %+v lacks the new status", sts)
	}
	if err := sb.SetStaffStatus(sandbox.SeedStaffAnna, 140001); err != nil {
		t.Fatalf("switching to the new status: %v", err)
	}
	for _, bad := range []string{
		`{"id": 140001, "name": "again"}`,           // exists
		`{"id": 2, "name": "Офлайн 2"}`,             // a standard id
		`{"id": 140002, "name": ""}`,                // no name
		`{"id": 140003, "name": "x", "chat": true}`, // a typo'd field
	} {
		if code := post(t, sb.ControlURL+"/_sandbox/statuses", bad); code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", bad, code)
		}
	}
	// The control page offers it too.
	if _, page := get(t, sb.ControlURL+"/", func(*http.Request) {}); !strings.Contains(page, `post("/_sandbox/statuses", {`) {
		t.Fatal("the control page cannot create a custom status")
	}
}
