package chaport

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

const testToken = "tok-9f8e7d6c5b4a-SECRET"

// sent is what the fake server saw of one request.
type sent struct {
	Method, Path, EscapedPath, RawQuery string
	Auth, Accept, ContentType, Body     string
}

// recorder serves canned replies and remembers every request, under a mutex
// because the handler runs on the server's goroutines.
type recorder struct {
	mu   sync.Mutex
	reqs []sent
}

func (rc *recorder) record(r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reqs = append(rc.reqs, sent{
		Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		Auth: r.Header.Get("Authorization"), Accept: r.Header.Get("Accept"),
		ContentType: r.Header.Get("Content-Type"), Body: string(body),
	})
}

func (rc *recorder) all() []sent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]sent(nil), rc.reqs...)
}

// only returns the single request the test expects to have been made.
func (rc *recorder) only(t *testing.T) sent {
	t.Helper()
	reqs := rc.all()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// replay starts a server that answers every request with status and body
// exactly as given, and a client pointed at it.
func replay(t *testing.T, status int, body string, cfg Config) (*Client, *recorder) {
	t.Helper()
	rc := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.record(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return newTestClient(t, srv.URL, cfg), rc
}

func newTestClient(t *testing.T, base string, cfg Config) *Client {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = base
	}
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// checkSent asserts the parts of a request every call must get right.
func checkSent(t *testing.T, got sent, method, path string) {
	t.Helper()
	if got.Method != method || got.Path != path {
		t.Errorf("sent %s %s, want %s %s", got.Method, got.Path, method, path)
	}
	if got.Auth != "Bearer "+testToken {
		t.Errorf("Authorization = %q, want the bearer token", got.Auth)
	}
	if got.Accept != "application/json" {
		t.Errorf("Accept = %q, want application/json", got.Accept)
	}
}
