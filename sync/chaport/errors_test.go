package chaport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/vendorapi"
)

func TestErrors(t *testing.T) {
	ctx := context.Background()
	listOps := func(c *Client) error { _, err := c.ListOperators(ctx); return err }
	setStatus := func(c *Client) error { _, err := c.SetOperatorStatus(ctx, botOp, Online, time.Minute); return err }
	reply := func(status int, body string, hdr ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		call    func(*Client) error
		kind    error
		retry   time.Duration
		message string
	}{
		{name: "401", handler: reply(401, `{"message": "Invalid access token"}`), kind: vendorapi.ErrUnauthorized, message: "Invalid access token"},
		{name: "403", handler: reply(403, `forbidden`), kind: vendorapi.ErrForbidden},
		{name: "404", handler: reply(404, `{"error": "Operator not found"}`), call: func(c *Client) error {
			_, err := c.GetOperator(ctx, "000000000000000000000000")
			return err
		}, kind: vendorapi.ErrNotFound, message: "Operator not found"},
		{name: "400 on write", handler: reply(400, `{"message": "status must be one of online, offline, invisible"}`), call: setStatus, kind: vendorapi.ErrBadRequest},
		{name: "429", handler: reply(429, `{"message": "slow down"}`, "Retry-After", "7"), kind: vendorapi.ErrRateLimited, retry: 7 * time.Second},
		{name: "500", handler: reply(500, `<html>Internal Server Error</html>`), kind: vendorapi.ErrServer},
		{name: "503 on write", handler: reply(503, ``), call: setStatus, kind: vendorapi.ErrServer},
		{name: "timeout", timeout: 50 * time.Millisecond, handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, kind: vendorapi.ErrTimeout},
		{name: "connection closed", handler: func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, kind: vendorapi.ErrUnavailable},
		{name: "connection closed on write", call: setStatus, handler: func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, kind: vendorapi.ErrUnavailable},
		{name: "200 without result", handler: reply(200, `{"ok": true}`), kind: vendorapi.ErrBadResponse},
		{name: "200 empty body", handler: reply(200, ``), kind: vendorapi.ErrBadResponse},
		{name: "200 null result", handler: reply(200, `{"result": null}`), kind: vendorapi.ErrBadResponse},
		{name: "200 html", handler: reply(200, `<html>login</html>`), kind: vendorapi.ErrBadResponse},
		{name: "200 wrong shape", handler: reply(200, `{"result": {"id": "x"}}`), kind: vendorapi.ErrBadResponse},
		{name: "write without result", handler: reply(200, `{}`), call: setStatus, kind: vendorapi.ErrBadResponse},
		{name: "me without result", handler: reply(200, `{"data": {}}`), call: func(c *Client) error {
			_, err := c.Me(ctx)
			return err
		}, kind: vendorapi.ErrBadResponse},
		{name: "bad event time", handler: reply(200, `{"result": [{"id": "e1", "type": "visitor-message", "createdAt": "yesterday"}]}`),
			call: func(c *Client) error { _, err := c.ChatEvents(ctx, visitorID, 1); return err }, kind: vendorapi.ErrBadResponse},
		{name: "event not an object", handler: reply(200, `{"result": {"id": 1, "events": ["e1"]}}`),
			call: func(c *Client) error { _, err := c.LatestChat(ctx, visitorID); return err }, kind: vendorapi.ErrBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			c := newTestClient(t, srv.URL, Config{Timeout: timeout})
			call := tc.call
			if call == nil {
				call = listOps
			}
			err := call(c)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want kind %v", err, tc.kind)
			}
			var ve *vendorapi.Error
			if !errors.As(err, &ve) || ve.Service != "chaport" {
				t.Errorf("err %v is not a chaport *vendorapi.Error", err)
			}
			if d, ok := vendorapi.RetryAfter(err); d != tc.retry || ok != (tc.retry > 0) {
				t.Errorf("RetryAfter = %v, %v; want %v", d, ok, tc.retry)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("err %q lacks the server's message %q", err, tc.message)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("err leaks the token: %v", err)
			}
		})
	}
}

// Arguments that can never succeed fail before any request is made.
func TestInputValidation(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, `{"result": {}}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, Config{})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"ttl zero", func() error { _, err := c.SetOperatorStatus(ctx, botOp, Online, 0); return err }},
		{"ttl 500ms", func() error { _, err := c.SetOperatorStatus(ctx, botOp, Online, 500*time.Millisecond); return err }},
		{"ttl negative", func() error { _, err := c.SetOperatorStatus(ctx, botOp, Online, -time.Minute); return err }},
		{"empty status", func() error { _, err := c.SetOperatorStatus(ctx, botOp, "", time.Minute); return err }},
		{"zero until", func() error { _, err := c.SetOperatorStatusUntil(ctx, botOp, Online, time.Time{}); return err }},
		{"status empty id", func() error { _, err := c.SetOperatorStatus(ctx, "", Online, time.Minute); return err }},
		{"status id with slash", func() error { _, err := c.SetOperatorStatus(ctx, "a/../b", Online, time.Minute); return err }},
		{"until empty id", func() error { _, err := c.SetOperatorStatusUntil(ctx, "", Online, time.Now()); return err }},
		{"operator empty id", func() error { _, err := c.GetOperator(ctx, ""); return err }},
		{"operator id with slash", func() error { _, err := c.GetOperator(ctx, "x/status"); return err }},
		{"operator dot-dot", func() error { _, err := c.GetOperator(ctx, ".."); return err }},
		{"visitor empty id", func() error { _, err := c.GetVisitor(ctx, ""); return err }},
		{"visitor id with slash", func() error { _, err := c.GetVisitor(ctx, "v/chats"); return err }},
		{"latest chat empty id", func() error { _, err := c.LatestChat(ctx, ""); return err }},
		{"chat id with slash", func() error { _, err := c.GetChat(ctx, "a/b", 1); return err }},
		{"negative chat id", func() error { _, err := c.GetChat(ctx, visitorID, -1); return err }},
		{"events empty id", func() error { _, err := c.ChatEvents(ctx, "", 1); return err }},
		{"visitor page 0", func() error { _, err := c.ListVisitors(ctx, 0); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, vendorapi.ErrBadRequest) {
				t.Errorf("err = %v, want a bad-request error", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("invalid calls reached the server %d times", n)
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no token", Config{BaseURL: "https://app.chaport.com"}},
		{"token with newline", Config{BaseURL: "https://app.chaport.com", Token: testToken + "\n"}},
		{"no scheme", Config{BaseURL: "app.chaport.com", Token: testToken}},
		{"not http", Config{BaseURL: "ftp://app.chaport.com", Token: testToken}},
		{"credentials in URL", Config{BaseURL: "https://user:" + testToken + "@app.chaport.com", Token: testToken}},
		{"query in URL", Config{BaseURL: "https://app.chaport.com/?token=x", Token: testToken}},
		{"field clash", Config{BaseURL: "https://app.chaport.com", Token: testToken, TTLField: "status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if err == nil {
				t.Fatalf("New accepted %+v", c)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}
