// Package vendorapi is the HTTP layer the Chaport and Omnidesk clients share:
// one JSON request under a deadline, and typed errors that callers test with
// errors.Is, so that the hub can tell "back off" from "fix your credentials"
// without parsing strings. It never puts credentials or request bodies into an
// error, because errors end up in logs.
package vendorapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Kinds of failure. Every *Error unwraps to exactly one of these.
var (
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrBadRequest   = errors.New("bad request")
	ErrRateLimited  = errors.New("rate limited")
	ErrServer       = errors.New("server error")
	ErrTimeout      = errors.New("timed out")
	ErrUnavailable  = errors.New("unreachable")
	ErrBadResponse  = errors.New("unexpected response")
)

// Error describes one failed call.
type Error struct {
	Service    string        // "chaport" or "omnidesk"
	Op         string        // method and path, e.g. "GET /operators"
	StatusCode int           // 0 when no response arrived
	Kind       error         // one of the Err* values above
	RetryAfter time.Duration // when the server said how long to wait
	Message    string        // the server's own words, trimmed; may be empty
	cause      error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %v", e.Service, e.Op, e.Kind)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.cause != nil {
		fmt.Fprintf(&b, ": %v", e.cause)
	}
	return b.String()
}

// Unwrap lets errors.Is match the kind and the underlying network error.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Kind, e.cause}
	}
	return []error{e.Kind}
}

// RetryAfter returns how long the server asked the caller to wait, if err is a
// rate-limit error that said so.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// maxBody bounds what we read from a vendor so a broken proxy cannot exhaust memory.
const maxBody = 8 << 20

// Client performs requests against one vendor base URL.
type Client struct {
	Service   string
	Base      *url.URL
	HTTP      *http.Client
	Timeout   time.Duration
	Authorize func(*http.Request)
	// Classify may turn a response into an error kind before the default status
	// mapping runs (Omnidesk's legacy "403 rate limit exceeded"); nil means none.
	Classify func(status int, body []byte) error
	// RetryAfterHeader names the header that carries the wait, e.g. "Retry-After".
	RetryAfterHeader string
	// Observe, if set, sees every response's headers (rate-limit bookkeeping).
	Observe func(http.Header)
}

// Request is one call.
type Request struct {
	Method string
	Path   string // joined to Base's path
	Query  url.Values
	Body   any // marshalled as JSON when non-nil
}

// Response is a successful (2xx) reply.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// ParseBase checks a vendor base URL: absolute http(s), no credentials in it.
func ParseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("parsing base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q must be an absolute http(s) URL", u.Redacted())
	}
	if u.User != nil {
		return nil, errors.New("base URL must not carry credentials")
	}
	return u, nil
}

// Do sends the request and returns the reply, or an *Error.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	op := r.Method + " " + r.Path
	fail := func(status int, kind error, cause error) *Error {
		return &Error{Service: c.Service, Op: op, StatusCode: status, Kind: kind, cause: cause}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	u := *c.Base
	u.Path = c.Base.Path + r.Path
	u.RawQuery = r.Query.Encode()
	var body io.Reader
	if r.Body != nil {
		buf, err := json.Marshal(r.Body)
		if err != nil {
			return nil, fail(0, ErrBadRequest, fmt.Errorf("encoding body: %w", err))
		}
		body = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), body)
	if err != nil {
		return nil, fail(0, ErrBadRequest, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "omnitray")
	if c.Authorize != nil {
		c.Authorize(req)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fail(0, networkKind(ctx, err), stripURL(err))
	}
	defer resp.Body.Close()
	if c.Observe != nil {
		c.Observe(resp.Header)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fail(resp.StatusCode, networkKind(ctx, err), stripURL(err))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: data}, nil
	}
	kind := statusKind(resp.StatusCode)
	if c.Classify != nil {
		if k := c.Classify(resp.StatusCode, data); k != nil {
			kind = k
		}
	}
	e := fail(resp.StatusCode, kind, nil)
	e.Message = serverMessage(data)
	if kind == ErrRateLimited {
		e.RetryAfter = ParseRetryAfter(resp.Header.Get(c.retryHeader()), time.Now())
	}
	return nil, e
}

func (c *Client) retryHeader() string {
	if c.RetryAfterHeader != "" {
		return c.RetryAfterHeader
	}
	return "Retry-After"
}

func statusKind(code int) error {
	switch {
	case code == http.StatusUnauthorized:
		return ErrUnauthorized
	case code == http.StatusForbidden:
		return ErrForbidden
	case code == http.StatusNotFound:
		return ErrNotFound
	case code == http.StatusTooManyRequests:
		return ErrRateLimited
	case code >= 500:
		return ErrServer
	case code >= 400:
		return ErrBadRequest
	default:
		return ErrBadResponse
	}
}

func networkKind(ctx context.Context, err error) error {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return ErrTimeout
	}
	return ErrUnavailable
}

// stripURL drops the request URL that *url.Error repeats, keeping the cause;
// the operation is already named in the Error.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ParseRetryAfter reads a wait given in seconds or as an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// serverMessage pulls a human message out of an error body: a JSON "message" or
// "error" field, else the text itself, trimmed to one short line.
func serverMessage(body []byte) string {
	var obj map[string]any
	if json.Unmarshal(body, &obj) == nil {
		for _, k := range []string{"message", "error", "error_description"} {
			if s, ok := obj[k].(string); ok {
				return oneLine(s)
			}
			if m, ok := obj[k].(map[string]any); ok {
				if s, ok := m["message"].(string); ok {
					return oneLine(s)
				}
			}
		}
	}
	return oneLine(string(body))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 200
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
