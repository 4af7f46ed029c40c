package omnidesk

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/vendorapi"
)

func TestErrorTable(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		hdr    map[string]string
		kind   error
		retry  time.Duration
		msg    string
	}{
		{"unauthorized", 401, `{"error": "wrong credentials"}`, nil, vendorapi.ErrUnauthorized, 0, ""},
		{"not found", 404, `{"error": "Staff not found"}`, nil, vendorapi.ErrNotFound, 0, "Staff not found"},
		{"bad request", 400, `{"error": "status_id is not allowed here"}`, nil, vendorapi.ErrBadRequest, 0, "status_id is not allowed here"},
		{"429", 429, `{"error": "Too many requests"}`, map[string]string{"retry_after": "17", "api_calls_left": "0"}, vendorapi.ErrRateLimited, 17 * time.Second, ""},
		{"legacy 403", 403, `Rate limit exceeded`, nil, vendorapi.ErrRateLimited, 0, ""},
		{"legacy 403 json", 403, `{"error": "RATE LIMIT EXCEEDED, try later"}`, map[string]string{"retry_after": "5"}, vendorapi.ErrRateLimited, 5 * time.Second, ""},
		{"forbidden", 403, `{"error": "Access denied"}`, nil, vendorapi.ErrForbidden, 0, "Access denied"},
		{"server", 500, `<html>oops</html>`, nil, vendorapi.ErrServer, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := replay(t, tc.status, tc.body, tc.hdr)
			c := newClient(t, srv.URL, nil)
			_, err := c.GetStaff(context.Background(), 200)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want kind %v", err, tc.kind)
			}
			var ve *vendorapi.Error
			if !errors.As(err, &ve) || ve.Service != "omnidesk" || ve.StatusCode != tc.status {
				t.Errorf("err = %#v, want *vendorapi.Error from omnidesk with HTTP %d", ve, tc.status)
			}
			if got, _ := vendorapi.RetryAfter(err); got != tc.retry {
				t.Errorf("RetryAfter = %v, want %v", got, tc.retry)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Error() = %q, want it to contain %q", err.Error(), tc.msg)
			}
			noSecret(t, err)
			// Error replies carry the budget headers too.
			if lim := c.Limits(); !lim.Known || lim.PerMinute != 50 {
				t.Errorf("Limits() after error = %+v", lim)
			}
		})
	}
}

func TestSetStaffStatusRefused(t *testing.T) {
	srv, _ := replay(t, 400, `{"error": "Unknown field status_id"}`, nil)
	_, err := newClient(t, srv.URL, nil).SetStaffStatus(context.Background(), 200, 3)
	if !errors.Is(err, vendorapi.ErrBadRequest) || !strings.Contains(err.Error(), "Unknown field status_id") {
		t.Fatalf("err = %v", err)
	}
	noSecret(t, err)
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })
	start := time.Now()
	_, err := c.ListStaff(context.Background(), 1, 10)
	if !errors.Is(err, vendorapi.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	noSecret(t, err)
}

func TestBadBodies(t *testing.T) {
	for _, body := range []string{`not json`, `{"0": {"staff": {"staff_id": "x"}}}`, `{"0": {"staff": {"created_at": "2014-05-05"}}}`} {
		srv, _ := replay(t, 200, body, nil)
		_, err := newClient(t, srv.URL, nil).ListStaff(context.Background(), 1, 100)
		if !errors.Is(err, vendorapi.ErrBadResponse) || !strings.HasPrefix(err.Error(), "decoding staff list") {
			t.Errorf("%s: err = %v, want ErrBadResponse", body, err)
		}
	}
	srv, _ := replay(t, 200, `{"user": {}}`, nil)
	if _, err := newClient(t, srv.URL, nil).GetStaff(context.Background(), 1); !errors.Is(err, vendorapi.ErrBadResponse) {
		t.Errorf("missing staff key: err = %v", err)
	}
}

func noSecret(t *testing.T, err error) {
	t.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte(testEmail + ":" + testKey))
	if s := err.Error(); strings.Contains(s, testKey) || strings.Contains(s, basic) {
		t.Errorf("error leaks the API key: %s", s)
	}
}
