package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

var testStart = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// startSandbox runs a sandbox on a fake clock for one test.
func startSandbox(t *testing.T, cfg Config) (*Sandbox, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(testStart)
	cfg.Clock = fc
	s := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, fc
}

type call struct {
	name    string
	method  string
	url     string
	auth    func(*http.Request)
	body    string
	want    int
	wantSub string // substring expected in the body
}

func chaportAuth(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func omnideskAuth(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

func do(t *testing.T, c call) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(c.method, c.url, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.auth != nil {
		c.auth(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func runCalls(t *testing.T, calls []call) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			code, body, _ := do(t, c)
			if code != c.want {
				t.Fatalf("%s %s: got %d, want %d; body %s", c.method, c.url, code, c.want, body)
			}
			if c.wantSub != "" && !strings.Contains(body, c.wantSub) {
				t.Fatalf("body %s does not contain %q", body, c.wantSub)
			}
		})
	}
}

func TestChaportRefusesWhatTheRealServiceRefuses(t *testing.T) {
	s, _ := startSandbox(t, Config{})
	api := s.ChaportURL + "/api/v1"
	good := chaportAuth(DefaultChaportToken)
	op := api + "/operators/" + SeedOperatorAnna
	runCalls(t, []call{
		{"no auth", "GET", api + "/operators", nil, "", 401, "message"},
		{"wrong token", "GET", api + "/operators", chaportAuth("nope"), "", 401, ""},
		{"legacy header off by default", "GET", api + "/operators", func(r *http.Request) {
			r.Header.Set("Authentication", "Bearer "+DefaultChaportToken)
		}, "", 401, ""},
		{"basic auth is not bearer", "GET", api + "/operators", omnideskAuth("x", DefaultChaportToken), "", 401, ""},
		{"list ok", "GET", api + "/operators", good, "", 200, `"realStatus":"offline"`},
		{"unknown operator", "GET", api + "/operators/5f1a2b3c4d5e6f7081920aff", good, "", 404, ""},
		{"unknown path", "GET", api + "/nothing", good, "", 404, ""},
		{"status unknown operator", "POST", api + "/operators/5f1a2b3c4d5e6f7081920aff/status", good, `{"status":"online","ttl":60}`, 404, ""},
		{"status not json", "POST", op + "/status", good, `status=online`, 400, ""},
		{"status array", "POST", op + "/status", good, `[]`, 400, ""},
		{"status missing ttl", "POST", op + "/status", good, `{"status":"online"}`, 400, "exactly one"},
		{"status both ttl and until", "POST", op + "/status", good, `{"status":"online","ttl":60,"validUntil":"2026-11-25T10:05:00.000Z"}`, 400, "exactly one"},
		{"status bad value", "POST", op + "/status", good, `{"status":"away","ttl":60}`, 400, "not one of"},
		{"status ttl zero", "POST", op + "/status", good, `{"status":"online","ttl":0}`, 400, ""},
		{"status ttl fraction", "POST", op + "/status", good, `{"status":"online","ttl":1.5}`, 400, ""},
		{"status ttl string", "POST", op + "/status", good, `{"status":"online","ttl":"60"}`, 400, ""},
		{"status mcp field name", "POST", op + "/status", good, `{"status":"online","ttl_seconds":60}`, 400, "unknown field"},
		{"status until in past", "POST", op + "/status", good, `{"status":"online","validUntil":"2020-01-01T00:00:00.000Z"}`, 400, "past"},
		{"status until garbage", "POST", op + "/status", good, `{"status":"online","validUntil":"tomorrow"}`, 400, ""},
		{"status ok ttl", "POST", op + "/status", good, `{"status":"online","ttl":60}`, 200, `"result":{`},
		{"status ok until", "POST", op + "/status", good, `{"status":"invisible","validUntil":"2026-11-25T10:05:00.000Z"}`, 200, `"lastStatus":"invisible"`},
		{"visitors bad page", "GET", api + "/visitors?page=0", good, "", 400, ""},
		{"unknown visitor", "GET", api + "/visitors/65000000000000000000dead/chats", good, "", 404, ""},
	})
}

func TestOmnideskRefusesWhatTheRealServiceRefuses(t *testing.T) {
	s, _ := startSandbox(t, Config{Omnidesk: OmnideskSettings{BudgetPerMinute: 1000}})
	api := s.OmnideskURL + "/api"
	good := omnideskAuth(DefaultOmnideskEmail, DefaultOmnideskAPIKey)
	anna := api + "/staff/201.json"
	runCalls(t, []call{
		{"no auth", "GET", api + "/staff.json", nil, "", 401, ""},
		{"wrong key", "GET", api + "/staff.json", omnideskAuth(DefaultOmnideskEmail, "bad"), "", 401, ""},
		{"wrong email", "GET", api + "/staff.json", omnideskAuth("x@y", DefaultOmnideskAPIKey), "", 401, ""},
		{"bearer is not basic", "GET", api + "/staff.json", chaportAuth(DefaultOmnideskAPIKey), "", 401, ""},
		{"list ok", "GET", api + "/staff.json", good, "", 200, `"total_count":3`},
		{"list bad page", "GET", api + "/staff.json?page=x", good, "", 400, ""},
		{"list bad limit", "GET", api + "/staff.json?limit=-1", good, "", 400, ""},
		{"one ok", "GET", anna, good, "", 200, `"status_id":2`},
		{"unknown staff", "GET", api + "/staff/999.json", good, "", 404, ""},
		{"no .json", "GET", api + "/staff/201", good, "", 404, ""},
		{"not a number", "GET", api + "/staff/abc.json", good, "", 404, ""},
		{"statuses ok", "GET", api + "/staff_statuses.json", good, "", 200, `"count":6`},
		{"put not wrapped", "PUT", anna, good, `{"status_id":1}`, 400, ""},
		{"put unknown field", "PUT", anna, good, `{"staff":{"status":"online"}}`, 400, ""},
		{"put unknown status", "PUT", anna, good, `{"staff":{"status_id":77}}`, 400, "unknown status_id"},
		{"put status as string", "PUT", anna, good, `{"staff":{"status_id":"1"}}`, 400, ""},
		{"put unknown staff", "PUT", api + "/staff/999.json", good, `{"staff":{"status_id":1}}`, 404, ""},
		{"put ok", "PUT", anna, good, `{"staff":{"status_id":1}}`, 200, `"staff_id":201`},
		{"wrong method", "DELETE", anna, good, "", 404, ""},
	})
	if got := s.State().Staff[0].StatusID; got != 1 {
		t.Fatalf("accepted status write did not apply: status %d", got)
	}
	if err := s.SetFaults("omnidesk", Faults{}); err != nil {
		t.Fatal(err)
	}
}

func TestOmnideskRefusesStatusWriteWhenTold(t *testing.T) {
	s, _ := startSandbox(t, Config{Omnidesk: OmnideskSettings{StatusWrite: StatusWriteRefuse}})
	runCalls(t, []call{{"refused", "PUT", s.OmnideskURL + "/api/staff/201.json",
		omnideskAuth(DefaultOmnideskEmail, DefaultOmnideskAPIKey), `{"staff":{"status_id":1}}`, 400, "status_id"}})
	if got := s.State().Staff[0].StatusID; got != StatusOffline {
		t.Fatalf("refused write changed the status to %d", got)
	}
}

func TestOmnideskBudget(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		s, fc := startSandbox(t, Config{Omnidesk: OmnideskSettings{BudgetPerMinute: 5, LegacyRateLimit: legacy}})
		fc.Set(testStart.Add(20 * time.Second))
		good := omnideskAuth(DefaultOmnideskEmail, DefaultOmnideskAPIKey)
		get := call{method: "GET", url: s.OmnideskURL + "/api/staff.json", auth: good}
		put := call{method: "PUT", url: s.OmnideskURL + "/api/staff/201.json", auth: good, body: `{"staff":{"status_id":1}}`}
		wantLeft := []string{"4", "3", "1"} // GET, GET, PUT (costs 2)
		for i, c := range []call{get, get, put} {
			code, _, h := do(t, c)
			if code != 200 || h.Get("api_calls_left") != wantLeft[i] || h.Get("rate_limit_per_minute") != "5" {
				t.Fatalf("call %d: %d, left %q limit %q", i, code, h.Get("api_calls_left"), h.Get("rate_limit_per_minute"))
			}
		}
		code, body, h := do(t, put) // costs 2, only 1 left
		if legacy {
			if code != 403 || !strings.Contains(strings.ToLower(body), "rate limit exceeded") {
				t.Fatalf("legacy over budget: %d %s", code, body)
			}
		} else if code != 429 || h.Get("retry_after") != "40" {
			t.Fatalf("over budget: %d retry_after %q", code, h.Get("retry_after"))
		}
		if code, _, _ := do(t, get); code != 200 {
			t.Fatalf("the last unit of budget was refused: %d", code)
		}
		if code, _, _ := do(t, get); code == 200 {
			t.Fatal("call over budget accepted")
		}
		fc.Set(testStart.Add(time.Minute))
		if code, _, h := do(t, get); code != 200 || h.Get("api_calls_left") != "4" {
			t.Fatalf("new minute: %d left %q", code, h.Get("api_calls_left"))
		}
		calls := s.Calls("omnidesk", 0)
		if len(calls) != 7 || calls[3].Status == 200 || calls[3].Cost != 0 || calls[2].Cost != 2 {
			t.Fatalf("call log: %+v", calls)
		}
	}
}

func TestLeaseLapsesOnTheClock(t *testing.T) {
	s, fc := startSandbox(t, Config{})
	good := chaportAuth(DefaultChaportToken)
	op := s.ChaportURL + "/api/v1/operators/" + SeedOperatorBoris
	realStatus := func() string {
		_, body, _ := do(t, call{method: "GET", url: op, auth: good})
		var env struct {
			Result struct{ LastStatus, RealStatus string }
		}
		if err := json.Unmarshal([]byte(body), &env); err != nil {
			t.Fatal(err)
		}
		return env.Result.RealStatus
	}
	write := call{method: "POST", url: op + "/status", auth: good, body: `{"status":"online","ttl":2}`}
	if code, _, _ := do(t, write); code != 200 {
		t.Fatal(code)
	}
	if got := realStatus(); got != "online" {
		t.Fatalf("fresh lease: %s", got)
	}
	fc.Advance(1500 * time.Millisecond)
	do(t, write) // renewal before expiry
	fc.Advance(1500 * time.Millisecond)
	if got := realStatus(); got != "online" {
		t.Fatalf("renewed lease lapsed early: %s", got)
	}
	fc.Advance(501 * time.Millisecond)
	if got := realStatus(); got != "offline" {
		t.Fatalf("lease did not lapse: %s", got)
	}
	o, _ := s.Operator(SeedOperatorBoris)
	if o.LastStatus != "online" || o.RealStatus != "offline" {
		t.Fatalf("after lapse: %+v", o)
	}
	// The control surface can move time too, for real-process tests.
	do(t, write)
	s.Advance(3 * time.Second)
	if got := realStatus(); got != "offline" {
		t.Fatalf("Advance did not lapse the lease: %s", got)
	}
}

func TestStaffEmailControlIsStrict(t *testing.T) {
	s, _ := startSandbox(t, Config{})
	ctl := s.ControlURL + "/_sandbox/staff/"
	runCalls(t, []call{
		{"not an address", "POST", ctl + "203/email", nil, `{"email":"boris"}`, 400, "name@domain"},
		{"two @", "POST", ctl + "203/email", nil, `{"email":"a@b@c"}`, 400, "name@domain"},
		{"a space", "POST", ctl + "203/email", nil, `{"email":"bo ris@acme.test"}`, 400, "space"},
		{"empty", "POST", ctl + "203/email", nil, `{"email":""}`, 400, ""},
		{"too long", "POST", ctl + "203/email", nil, `{"email":"` + strings.Repeat("a", 250) + `@acme.test"}`, 400, "longer"},
		{"unknown field", "POST", ctl + "203/email", nil, `{"mail":"boris@acme.test"}`, 400, "unknown field"},
		{"unknown staff", "POST", ctl + "999/email", nil, `{"email":"x@acme.test"}`, 400, "unknown staff"},
		// Another staff member's address is allowed: the hub must cope.
		{"ok", "POST", ctl + "203/email", nil, `{"email":"boris@acme.test"}`, 200, ""},
		{"sim alias", "POST", s.ControlURL + "/_sim/staff/201/email", nil, `{"email":"Anna@Acme.test"}`, 200, ""},
	})
	got := map[int64]string{}
	for _, st := range s.State().Staff {
		got[st.ID] = st.Email
	}
	if got[203] != "boris@acme.test" || got[202] != "boris@acme.test" || got[201] != "Anna@Acme.test" {
		t.Fatalf("e-mails after the controls: %v", got)
	}
}

// The call log names each call's client address, so that a test with
// several clients (hub replicas, each reaching the fakes from its own
// loopback address) can tell whose call it was.
func TestCallLogNamesTheClient(t *testing.T) {
	s, _ := startSandbox(t, Config{})
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 7)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	req, _ := http.NewRequest("GET", s.OmnideskURL+"/api/staff.json", nil)
	req.SetBasicAuth(DefaultOmnideskEmail, DefaultOmnideskAPIKey)
	resp, err := hc.Do(req)
	if err != nil {
		t.Skipf("cannot call from 127.0.0.7 on this machine: %v", err)
	}
	resp.Body.Close()
	calls := s.Calls("omnidesk", 0)
	if len(calls) != 1 {
		t.Fatalf("call log: %+v", calls)
	}
	if host, _, err := net.SplitHostPort(calls[0].Remote); err != nil || host != "127.0.0.7" {
		t.Fatalf("remote %q, want 127.0.0.7:port", calls[0].Remote)
	}
}
