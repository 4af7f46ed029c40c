package feed

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A session the hub closes for the token's sake stops the client with an
// error that says what the employee must do, and the client does not
// reconnect: a fresh handshake with the same token could only be refused.
func TestTokenCloseCodesStopTheClient(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
		want   error
	}{
		{CloseTokenExpired, ReasonTokenExpired, ErrTokenExpired},
		{CloseTokenRevoked, ReasonTokenRevoked, ErrTokenRevoked},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			h := newTestHub(t, ServerOptions{}, false)
			c, err := NewClient(ClientOptions{URL: h.url, Token: testToken, MinBackoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			events := make(chan Event, 64)
			done := make(chan error, 1)
			go func() { done <- c.Run(reqCtx(t), events) }()
			next(t, events, Connected)
			sc := recv(t, h.conns, "server connection")
			sc.CloseWith(tc.code, tc.reason)

			err = recv(t, done, "Run's return")
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrUnauthorized) || err.Error() != tc.reason {
				t.Fatalf("Run returned %v, want exactly %q wrapping ErrUnauthorized", err, tc.want)
			}
			var ce *CloseError
			if served := recv(t, h.ended, "Serve's return"); !errors.As(served, &ce) || ce.Code != tc.code {
				t.Fatalf("Serve returned %v, want a CloseError with code %d", served, tc.code)
			}
			if n := h.n.Load(); n != 1 {
				t.Fatalf("%d connections, want 1: the client reconnected", n)
			}
		})
	}
}

// A handshake refused for an expired or revoked token reads the same as a
// closed session; any other 401 stays a plain ErrUnauthorized.
func TestTokenRefusalOnHandshake(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refuse func(http.ResponseWriter)
		want   error
	}{
		{"expired", func(w http.ResponseWriter) { RefuseToken(w, CloseTokenExpired) }, ErrTokenExpired},
		{"revoked", func(w http.ResponseWriter) { RefuseToken(w, CloseTokenRevoked) }, ErrTokenRevoked},
		{"other", func(w http.ResponseWriter) { http.Error(w, "no", http.StatusUnauthorized) }, ErrUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.refuse(w) }))
			t.Cleanup(srv.Close)
			u, _ := WebsocketURL(srv.URL, false)
			c, err := NewClient(ClientOptions{URL: u, Token: testToken})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			err = c.Run(ctx, make(chan Event, 8))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Run returned %v, want %v", err, tc.want)
			}
			if tc.want == ErrUnauthorized && (errors.Is(err, ErrTokenExpired) || errors.Is(err, ErrTokenRevoked)) {
				t.Fatalf("a plain 401 read as %v", err)
			}
			if tc.want != ErrUnauthorized && err.Error() != tc.want.Error() {
				t.Fatalf("Run returned %q, want the plain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatalf("error %q quotes the token", err)
			}
		})
	}
}

// Any other refusal reads as one clause with the hub's reason and what to
// do, without a "connect to hub: feed:" chain (issue 11 §5).
func TestGenericRefusalSaysTheFix(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{401, "token refused: token signature does not match",
			"the hub refused the token (HTTP 401: token signature does not match) — ask for a new token, then run `omnitray login`"},
		{403, "staff 999 is not in Omnidesk",
			"the hub refused the token (HTTP 403: staff 999 is not in Omnidesk) — ask for a new token, then run `omnitray login`"},
		{401, "", "the hub refused the token (HTTP 401) — ask for a new token, then run `omnitray login`"},
		{401, "token refused: " + testToken, "the hub refused the token (HTTP 401: [redacted]) — ask for a new token, then run `omnitray login`"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body + "\n"))
		}))
		u, _ := WebsocketURL(srv.URL, false)
		c, err := NewClient(ClientOptions{URL: u, Token: testToken})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		err = c.Run(ctx, make(chan Event, 8))
		cancel()
		srv.Close()
		var re *RefusedError
		if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &re) || err.Error() != tc.want {
			t.Errorf("Run returned %q, want exactly %q wrapping ErrUnauthorized", err, tc.want)
		}
	}
}
