package omnidesk

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	testEmail = "staff@domain.ru"
	testKey   = "sekret-api-key-0451"
)

// The fixtures follow docs/vendor-contract.md byte for byte, with
// keys deliberately out of index order so that map order cannot pass the test.
const staffListJSON = `{"1": {"staff": {"staff_id": 201, "staff_email": "second@domain.ru", "staff_full_name": "Second", "staff_signature": "", "staff_signature_chat": "", "thumbnail": "https://cdn.example/201.png", "active": false, "status": "offline", "status_id": 113808, "created_at": "Tue, 06 May 2014 09:00:00 +0300", "updated_at": ""}}, "total_count": 2, "0": {"staff": { "staff_id": 200, "staff_email": "staff@domain.ru", "staff_full_name": "Name",
  "staff_signature": "Regards", "staff_signature_chat": "Bye", "thumbnail": "",
  "active": true, "status": "online", "status_id": 1,
  "created_at": "Mon, 05 May 2014 00:15:17 +0300", "updated_at": "Wed, 07 May 2014 12:30:00 +0300" }}}`

const staffOneJSON = `{"staff": { "staff_id": 200, "staff_email": "staff@domain.ru", "staff_full_name": "Name",
  "staff_signature": "Regards", "staff_signature_chat": "Bye", "thumbnail": "",
  "active": true, "status": "online", "status_id": 3,
  "created_at": "Mon, 05 May 2014 00:15:17 +0300", "updated_at": null }}`

const statusesJSON = `{"3": {"staff_statuses": {"status_id": 113808, "status": "Обучение", "active": true}}, "count": 5, "0": {"staff_statuses": {"status_id": 1, "status": "Онлайн", "active": true}}, "4": {"staff_statuses": {"status_id": 120273, "status": "Обед", "active": false}}, "2": {"staff_statuses": {"status_id": 3, "status": "Без чатов", "active": true}}, "1": {"staff_statuses": {"status_id": 2, "status": "Офлайн", "active": true}}}`

// sent is what the fake server saw.
type sent struct {
	method, path, query, user, pass, contentType, body string
	authOK                                             bool
}

// replay serves body with the given status and the rate-limit headers written
// exactly as Omnidesk spells them, and reports each request on the channel.
func replay(t *testing.T, status int, body string, hdr map[string]string) (*httptest.Server, chan sent) {
	t.Helper()
	ch := make(chan sent, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u, p, ok := r.BasicAuth()
		ch <- sent{r.Method, r.URL.Path, r.URL.RawQuery, u, p, r.Header.Get("Content-Type"), string(b), ok}
		w.Header()["rate_limit_per_minute"] = []string{"50"}
		w.Header()["api_calls_left"] = []string{"47"}
		for k, v := range hdr {
			w.Header()[k] = []string{v}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func newClient(t *testing.T, baseURL string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: baseURL, Email: testEmail, APIKey: testKey}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func one(t *testing.T, ch chan sent) sent {
	t.Helper()
	select {
	case s := <-ch:
		return s
	default:
		t.Fatal("server saw no request")
		return sent{}
	}
}

func checkAuth(t *testing.T, s sent) {
	t.Helper()
	if !s.authOK || s.user != testEmail || s.pass != testKey {
		t.Errorf("basic auth = %q/%q (ok=%v), want %q/%q", s.user, s.pass, s.authOK, testEmail, testKey)
	}
}

func TestListStaffReplay(t *testing.T) {
	srv, ch := replay(t, 200, staffListJSON, nil)
	c := newClient(t, srv.URL, nil)
	if c.Limits().Known {
		t.Fatal("limits known before any call")
	}
	page, err := c.ListStaff(context.Background(), 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	s := one(t, ch)
	if s.method != "GET" || s.path != "/api/staff.json" || s.query != "limit=100&page=1" {
		t.Errorf("sent %s %s?%s, want GET /api/staff.json?limit=100&page=1", s.method, s.path, s.query)
	}
	checkAuth(t, s)
	if page.TotalCount != 2 || len(page.Staff) != 2 {
		t.Fatalf("got %d staff, total %d; want 2, 2", len(page.Staff), page.TotalCount)
	}
	first, second := page.Staff[0], page.Staff[1]
	if first.ID != 200 || second.ID != 201 {
		t.Errorf("order = %d, %d; want 200, 201 (index order)", first.ID, second.ID)
	}
	if first.Email != "staff@domain.ru" || first.FullName != "Name" || first.Signature != "Regards" ||
		first.SignatureChat != "Bye" || !first.Active || first.Status != "online" || first.StatusID != 1 {
		t.Errorf("first = %+v", first)
	}
	if second.Thumbnail != "https://cdn.example/201.png" || second.Active || second.StatusID != 113808 {
		t.Errorf("second = %+v", second)
	}
	msk := time.FixedZone("", 3*3600)
	if want := time.Date(2014, 5, 5, 0, 15, 17, 0, msk); !first.CreatedAt.Equal(want) {
		t.Errorf("created_at = %v, want %v", first.CreatedAt, want)
	}
	if _, off := first.CreatedAt.Zone(); off != 3*3600 {
		t.Errorf("created_at zone offset = %d, want +0300", off)
	}
	if want := time.Date(2014, 5, 7, 12, 30, 0, 0, msk); !first.UpdatedAt.Equal(want) {
		t.Errorf("updated_at = %v, want %v", first.UpdatedAt, want)
	}
	if !second.UpdatedAt.IsZero() {
		t.Errorf("empty updated_at = %v, want zero", second.UpdatedAt)
	}
	lim := c.Limits()
	if !lim.Known || lim.PerMinute != 50 || lim.CallsLeft != 47 || time.Since(lim.ObservedAt) > time.Minute {
		t.Errorf("Limits() = %+v, want 50/47 known, just observed", lim)
	}
}

func TestListStaffQuery(t *testing.T) {
	srv, ch := replay(t, 200, `{"total_count": 0}`, nil)
	c := newClient(t, srv.URL+"/api/", nil) // "/api" given: must not double
	page, err := c.ListStaff(context.Background(), 3, 25)
	if err != nil {
		t.Fatal(err)
	}
	if s := one(t, ch); s.path != "/api/staff.json" || s.query != "limit=25&page=3" {
		t.Errorf("sent %s?%s", s.path, s.query)
	}
	if len(page.Staff) != 0 {
		t.Errorf("staff = %v, want none", page.Staff)
	}
}

func TestGetStaffReplay(t *testing.T) {
	srv, ch := replay(t, 200, staffOneJSON, nil)
	c := newClient(t, srv.URL, nil)
	st, err := c.GetStaff(context.Background(), 200)
	if err != nil {
		t.Fatal(err)
	}
	s := one(t, ch)
	if s.method != "GET" || s.path != "/api/staff/200.json" {
		t.Errorf("sent %s %s", s.method, s.path)
	}
	checkAuth(t, s)
	if st.ID != 200 || st.StatusID != 3 || st.CreatedAt.Year() != 2014 || !st.UpdatedAt.IsZero() {
		t.Errorf("staff = %+v", st)
	}
}

func TestStaffStatusesReplay(t *testing.T) {
	srv, ch := replay(t, 200, statusesJSON, nil)
	c := newClient(t, srv.URL, nil)
	got, err := c.StaffStatuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := one(t, ch); s.method != "GET" || s.path != "/api/staff_statuses.json" {
		t.Errorf("sent %s %s", s.method, s.path)
	}
	want := []StaffStatus{
		{1, "Онлайн", true}, {2, "Офлайн", true}, {3, "Без чатов", true},
		{113808, "Обучение", true}, {120273, "Обед", false},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses = %v\nwant %v", got, want)
	}
	if !c.Limits().Known {
		t.Error("limits not recorded")
	}
}

func TestEmptyAndOddLists(t *testing.T) {
	for _, body := range []string{`{}`, `[]`, `{"count": 0}`, `{"count": "0", "note": "x"}`} {
		srv, _ := replay(t, 200, body, nil)
		got, err := newClient(t, srv.URL, nil).StaffStatuses(context.Background())
		if err != nil || len(got) != 0 {
			t.Errorf("%s: got %v, %v; want empty, nil", body, got, err)
		}
	}
	srv, _ := replay(t, 200, `{"0": {"status_id": 1}, "count": 1}`, nil)
	if _, err := newClient(t, srv.URL, nil).StaffStatuses(context.Background()); err == nil {
		t.Error("unwrapped item accepted")
	}
}

func TestSetStaffStatusDefault(t *testing.T) {
	srv, ch := replay(t, 200, staffOneJSON, nil)
	c := newClient(t, srv.URL, nil)
	rec, err := c.SetStaffStatus(context.Background(), 200, 3)
	if err != nil {
		t.Fatal(err)
	}
	// The reply carries the record with its status: the caller can check
	// the switch without reading the staff member back.
	if rec == nil || rec.ID != 200 || rec.StatusID != 3 || rec.Email != "staff@domain.ru" {
		t.Errorf("record from the reply = %+v, want staff 200 with status 3", rec)
	}
	s := one(t, ch)
	if s.method != "PUT" || s.path != "/api/staff/200.json" || s.body != `{"staff":{"status_id":3}}` {
		t.Errorf("sent %s %s %s", s.method, s.path, s.body)
	}
	if s.contentType != "application/json" {
		t.Errorf("content type %q", s.contentType)
	}
	checkAuth(t, s)
}

func TestSetStaffStatusCustomWrite(t *testing.T) {
	srv, ch := replay(t, 200, `{}`, nil)
	c := newClient(t, srv.URL, func(cfg *Config) {
		cfg.StatusWrite = StatusWrite{Method: "post", Path: "staff/{id}/status.json", Field: "staff_status_id"}
	})
	if rec, err := c.SetStaffStatus(context.Background(), 7, 113808); err != nil || rec != nil {
		t.Fatalf("got %+v, %v; want no record (the reply has none), no error", rec, err)
	}
	s := one(t, ch)
	if s.method != "POST" || s.path != "/api/staff/7/status.json" || s.body != `{"staff":{"staff_status_id":113808}}` {
		t.Errorf("sent %s %s %s", s.method, s.path, s.body)
	}
}

// A 2xx reply without a status is not a confirmation: SetStaffStatus then
// returns no record, so that the caller reads the staff member back.
func TestSetStaffStatusReplyWithoutStatus(t *testing.T) {
	for name, body := range map[string]string{
		// The documented update reply: the profile, no status fields.
		"profile only": `{"staff": {"staff_id": 200, "staff_email": "staff@domain.ru", "staff_full_name": "Name", "active": true,
  "created_at": "Mon, 05 May 2014 00:15:17 +0300", "updated_at": "Wed, 07 May 2014 12:30:00 +0300"}}`,
		"null status":     `{"staff": {"staff_id": 200, "status_id": null}}`,
		"another staff":   `{"staff": {"staff_id": 999, "status_id": 3}}`,
		"zero status":     `{"staff": {"staff_id": 200, "status_id": 0}}`,
		"not json":        `OK`,
		"empty":           ``,
		"unwrapped":       `{"staff_id": 200, "status_id": 3}`,
		"bad date, too":   `{"staff": {"staff_id": 200, "status_id": 3, "created_at": "yesterday"}}`,
		"string status":   `{"staff": {"staff_id": 200, "status_id": "3"}}`,
		"list not record": `{"0": {"staff": {"staff_id": 200, "status_id": 3}}, "total_count": 1}`,
	} {
		srv, _ := replay(t, 200, body, nil)
		rec, err := newClient(t, srv.URL, nil).SetStaffStatus(context.Background(), 200, 3)
		if err != nil || rec != nil {
			t.Errorf("%s: got %+v, %v; want no record, no error", name, rec, err)
		}
	}
	// An unchanged record is a record: the caller sees the old status.
	srv, _ := replay(t, 200, `{"staff": {"staff_id": 200, "status_id": 2}}`, nil)
	rec, err := newClient(t, srv.URL, nil).SetStaffStatus(context.Background(), 200, 3)
	if err != nil || rec == nil || rec.StatusID != 2 {
		t.Errorf("unchanged record: got %+v, %v; want status 2", rec, err)
	}
}

func TestNewValidates(t *testing.T) {
	bad := []Config{
		{BaseURL: "acme.omnidesk.ru", Email: testEmail, APIKey: testKey},
		{BaseURL: "https://u:p@acme.omnidesk.ru", Email: testEmail, APIKey: testKey},
		{BaseURL: "https://acme.omnidesk.ru", APIKey: testKey},
		{BaseURL: "https://acme.omnidesk.ru", Email: testEmail},
		{BaseURL: "https://acme.omnidesk.ru", Email: testEmail, APIKey: testKey, StatusWrite: StatusWrite{Path: "/staff/status.json"}},
		{BaseURL: "https://acme.omnidesk.ru", Email: testEmail, APIKey: testKey, StatusWrite: StatusWrite{Method: "GET"}},
	}
	for _, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%v) succeeded", cfg)
		} else if strings.Contains(err.Error(), testKey) {
			t.Errorf("error leaks key: %v", err)
		}
	}
	c := newClient(t, "https://acme.omnidesk.ru/api/", nil)
	if got := c.api.Base.String(); got != "https://acme.omnidesk.ru/api" {
		t.Errorf("base = %s", got)
	}
	cfg := Config{BaseURL: "https://acme.omnidesk.ru", Email: testEmail, APIKey: testKey}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%+v", c)} {
		if strings.Contains(s, testKey) {
			t.Errorf("printing leaks key: %s", s)
		}
	}
}
