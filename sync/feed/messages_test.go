package feed

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	huge := `{"v":1,"type":"status","data":"` + strings.Repeat("x", int(DefaultMaxFrameBytes)) + `"}`
	tests := []struct {
		name    string
		frame   string
		wantErr error
		wantID  string
		typ     string
	}{
		{"request", `{"v":1,"type":"switch_status","id":"r1","data":{"status_id":3}}`, nil, "r1", TypeSwitchStatus},
		{"no data", `{"v":1,"type":"read_operator","id":"r2"}`, nil, "r2", TypeReadOperator},
		{"unknown fields", `{"v":1,"type":"status","extra":true}`, nil, "", TypeStatus},
		{"syntax error", `{"v":1,"type":`, ErrBadFrame, "", ""},
		{"not an object", `[1,2]`, ErrBadFrame, "", ""},
		{"type of wrong kind keeps id", `{"v":1,"type":7,"id":"q"}`, ErrBadFrame, "q", ""},
		{"no type", `{"v":1,"id":"q"}`, ErrBadFrame, "q", ""},
		{"trailing garbage", `{"v":1,"type":"status"} x`, ErrBadFrame, "", ""},
		{"other version", `{"v":2,"type":"status"}`, ErrVersion, "", TypeStatus},
		{"no version", `{"type":"status"}`, ErrVersion, "", TypeStatus},
		{"too large", huge, ErrFrameTooLarge, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := Decode([]byte(tt.frame))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if env.ID != tt.wantID || env.Type != tt.typ {
				t.Fatalf("env = %+v, want id %q type %q", env, tt.wantID, tt.typ)
			}
		})
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	env, err := NewEnvelope(TypeSnapshot, "", Snapshot{StatusID: 3, ObservedAt: at, Statuses: []Status{{ID: 1, ChatAccess: true}}})
	if err != nil {
		t.Fatal(err)
	}
	frame, _ := json.Marshal(env)
	for _, field := range []string{`"v":1`, `"status_id":3`, `"chat_access":true`, `"operator":null`, `"observed_at":"2026-03-02T09:00:00Z"`} {
		if !strings.Contains(string(frame), field) {
			t.Errorf("frame %s lacks %s", frame, field)
		}
	}
	got, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := DecodeData[Snapshot](got)
	if err != nil || snap.StatusID != 3 || !snap.ObservedAt.Equal(at) || snap.Operator != nil || !snap.Statuses[0].ChatAccess {
		t.Fatalf("snapshot = %+v (%v)", snap, err)
	}

	if st, err := DecodeData[SwitchStatus](Envelope{Type: TypeSwitchStatus}); err != nil || st.StatusID != 0 {
		t.Fatalf("empty data = %+v, %v; want zero value", st, err)
	}
	if _, err := DecodeData[SwitchStatus](Envelope{Data: json.RawMessage(`{"status_id":"x"}`)}); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("bad data: %v, want ErrBadFrame", err)
	}
	if _, err := NewEnvelope(TypeAck, "r1", func() {}); err == nil {
		t.Fatal("NewEnvelope encoded a func")
	}
	ack, _ := NewEnvelope(TypeAck, "r1", nil)
	if frame, _ := json.Marshal(ack); string(frame) != `{"v":1,"type":"ack","id":"r1"}` {
		t.Fatalf("nil data frame = %s", frame)
	}
	st, _ := json.Marshal(ChaportState{Status: "offline"})
	if strings.Contains(string(st), "expires_at") {
		t.Fatalf("zero expiry sent: %s", st)
	}
}

func TestRemoteError(t *testing.T) {
	if got := (&RemoteError{Code: CodeRefused, Message: "Omnidesk refused the change"}).Error(); got != "hub refused: Omnidesk refused the change" {
		t.Fatal(got)
	}
	if got := (&RemoteError{Code: CodeRateLimited}).Error(); got != "hub refused: rate_limited" {
		t.Fatal(got)
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct{ header, want string }{
		{"Bearer abc.def", "abc.def"},
		{"bearer  abc ", "abc"},
		{"Basic dXNlcjpwYXNz", ""},
		{"Bearer", ""},
		{"Bearer ", ""},
		{"", ""},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(http.MethodGet, "http://hub/v1/feed?token=from-url", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		if got := BearerToken(r); got != tt.want {
			t.Errorf("BearerToken(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestWebsocketURL(t *testing.T) {
	tests := []struct {
		base     string
		insecure bool
		want     string // "" = error
	}{
		{"http://127.0.0.1:8740", false, "ws://127.0.0.1:8740/v1/feed"},
		{"http://localhost:8740/", false, "ws://localhost:8740/v1/feed"},
		{"http://127.9.9.9", false, "ws://127.9.9.9/v1/feed"},
		{"http://[::1]:8740", false, "ws://[::1]:8740/v1/feed"},
		{"http://hub.acme.example", false, ""},
		{"http://10.0.0.5:8740", false, ""},
		{"http://localhost.evil.example", false, ""},
		{"http://hub.acme.example", true, "ws://hub.acme.example/v1/feed"},
		{"https://hub.acme.example", false, "wss://hub.acme.example/v1/feed"},
		{"HTTPS://hub.acme.example/", false, "wss://hub.acme.example/v1/feed"},
		{"https://acme.example/omnitray/", false, "wss://acme.example/omnitray/v1/feed"},
		{"https://acme.example/a/b", false, "wss://acme.example/a/b/v1/feed"},
		{"https://acme.example/a%2Fb", false, "wss://acme.example/a%2Fb/v1/feed"},
		{"https://hub.acme.example#frag", false, "wss://hub.acme.example/v1/feed"},
		{"wss://hub.acme.example", false, "wss://hub.acme.example/v1/feed"},
		{"ftp://hub.acme.example", true, ""},
		{"hub.acme.example", false, ""},
		{"https://", false, ""},
		{"https://user:secret@hub.acme.example", false, ""},
		{"https://hub.acme.example/?token=secret", false, ""},
		{"https://hub.acme.example:bad/secret", false, ""},
		// Ports no connection can reach: bad input, not a reconnect loop.
		{"http://127.0.0.1:99999", false, ""},
		{"http://127.0.0.1:0", false, ""},
		{"https://hub.acme.example:65535", false, "wss://hub.acme.example:65535/v1/feed"},
	}
	for _, tt := range tests {
		got, err := WebsocketURL(tt.base, tt.insecure)
		if tt.want == "" {
			if err == nil {
				t.Errorf("WebsocketURL(%q, %v) = %q, want an error", tt.base, tt.insecure, got)
			} else if strings.Contains(err.Error(), "secret") {
				t.Errorf("WebsocketURL(%q) error quotes the input: %v", tt.base, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("WebsocketURL(%q, %v) = %q, %v; want %q", tt.base, tt.insecure, got, err, tt.want)
		}
	}
}

// TestWebsocketURLs: --hub takes a comma-separated list of replicas; every
// item is checked like a single URL, and no error repeats an item, which
// may hold a secret.
func TestWebsocketURLs(t *testing.T) {
	tests := []struct {
		name     string
		list     string
		insecure bool
		want     []string
		wantErr  string // part of the error; "" = no error
	}{
		{"one", "https://hub.acme.example", false, []string{"wss://hub.acme.example/v1/feed"}, ""},
		{"two", "https://a.acme.example:8740,https://b.acme.example:8740", false,
			[]string{"wss://a.acme.example:8740/v1/feed", "wss://b.acme.example:8740/v1/feed"}, ""},
		{"spaces trimmed", "  https://a.acme.example , \thttps://b.acme.example/ ", false,
			[]string{"wss://a.acme.example/v1/feed", "wss://b.acme.example/v1/feed"}, ""},
		{"order kept", "https://b.acme.example,https://a.acme.example", false,
			[]string{"wss://b.acme.example/v1/feed", "wss://a.acme.example/v1/feed"}, ""},
		{"duplicates dropped", "https://a.acme.example,https://b.acme.example,HTTPS://a.acme.example/", false,
			[]string{"wss://a.acme.example/v1/feed", "wss://b.acme.example/v1/feed"}, ""},
		{"loopback http", "http://127.0.0.1:8740,http://127.0.0.1:8741", false,
			[]string{"ws://127.0.0.1:8740/v1/feed", "ws://127.0.0.1:8741/v1/feed"}, ""},
		{"insecure http", "https://a.acme.example,http://10.0.0.5:8740", true,
			[]string{"wss://a.acme.example/v1/feed", "ws://10.0.0.5:8740/v1/feed"}, ""},
		{"empty", "", false, nil, "hub URL is empty"},
		{"blank", "   ", false, nil, "hub URL is empty"},
		{"empty item", "https://a.acme.example,,https://b.acme.example", false, nil, "hub URL 2 of 3 is empty"},
		{"trailing comma", "https://a.acme.example,", false, nil, "hub URL 2 of 2 is empty"},
		{"blank item", "https://a.acme.example, ,https://b.acme.example", false, nil, "hub URL 2 of 3 is empty"},
		{"bad scheme", "https://a.acme.example,ftp://secret.acme.example", false, nil, `hub URL 2 of 2: unsupported scheme "ftp"`},
		{"no scheme", "secret.acme.example", false, nil, "hub URL: it must start with https://"},
		{"plain http", "https://a.acme.example,http://10.0.0.5:8740", false, nil,
			"hub URL 2 of 2: plain http to 10.0.0.5 would expose the token"},
		{"credentials", "https://user:secret@a.acme.example,https://b.acme.example", false, nil,
			"hub URL 1 of 2: credentials do not belong in the URL"},
		{"query", "https://a.acme.example/?token=secret", false, nil, "hub URL: a query does not belong in it"},
		{"bad port", "https://a.acme.example,https://b.acme.example:99999", false, nil, "hub URL 2 of 2: port 99999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WebsocketURLs(tt.list, tt.insecure)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("WebsocketURLs(%q) = %q, %v; want an error with %q", tt.list, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "acme.example") {
					t.Fatalf("WebsocketURLs(%q) error quotes the input: %v", tt.list, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("WebsocketURLs(%q) = %q, %v; want %q", tt.list, got, err, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	const lo, hi = 500 * time.Millisecond, 30 * time.Second
	tests := []struct {
		attempt int
		r       float64
		want    time.Duration
	}{
		{0, 0, 250 * time.Millisecond},
		{0, 0.5, 375 * time.Millisecond},
		{0, 1, 500 * time.Millisecond},
		{1, 0, 500 * time.Millisecond},
		{3, 0, 2 * time.Second},
		{3, 1, 4 * time.Second},
		{6, 1, hi}, // 32s capped
		{6, 0, 15 * time.Second},
		{1000, 1, hi}, // no overflow
		{1000, 0, hi / 2},
		{0, -3, 250 * time.Millisecond}, // a broken Rand cannot leave the bounds
		{0, 7, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := backoff(tt.attempt, lo, hi, tt.r); got != tt.want {
			t.Errorf("backoff(%d, r=%v) = %v, want %v", tt.attempt, tt.r, got, tt.want)
		}
	}
	for attempt := range 64 {
		for _, r := range []float64{0, 0.25, 0.999999} {
			d := backoff(attempt, lo, hi, r)
			if d < lo/2 || d > hi {
				t.Fatalf("backoff(%d, %v) = %v, outside [%v, %v]", attempt, r, d, lo/2, hi)
			}
		}
	}
	if d := backoff(0, time.Second, time.Second, 0.5); d != 750*time.Millisecond {
		t.Fatalf("lo == hi: %v", d)
	}
}

func TestRedact(t *testing.T) {
	base := errors.New("proxy said: bad token tok-abc123")
	err := redact(base, "tok-abc123")
	if strings.Contains(err.Error(), "tok-abc123") || !errors.Is(err, base) {
		t.Fatalf("redact = %v", err)
	}
	if redact(base, "other") != base || redact(nil, "x") != nil {
		t.Fatal("redact changed an error without the secret")
	}
}

func TestNewClientRefusesBadOptions(t *testing.T) {
	for _, o := range []ClientOptions{
		{URL: "http://127.0.0.1/v1/feed", Token: "t"},
		{URL: "ws://127.0.0.1/v1/feed?token=secret", Token: "t"},
		{URL: "ws://127.0.0.1/v1/feed", Token: ""},
		{URL: "ws://127.0.0.1/v1/feed", Token: "secret\r\nX-Evil: 1"},
	} {
		_, err := NewClient(o)
		if err == nil {
			t.Errorf("NewClient(%+v) accepted", o)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error quotes a secret: %v", err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"v":1,"type":"snapshot","data":{"staff":{"id":1},"operator":null,"statuses":[],"status_id":1}}`,
		`{"v":1,"type":"switch_status","id":"r1","data":{"status_id":3}}`,
		`{"v":1,"type":"error","id":"r2","data":{"code":"refused","message":"no"}}`,
		`{"v":2,"type":"status"}`,
		`{"v":1,"type":7,"id":"q"}`,
		`{"v":1,"type":"\u00e9","id":"\ud800"}`,
		`{not json`,
		`null`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		env, err := Decode(frame)
		if int64(len(frame)) > DefaultMaxFrameBytes && err == nil {
			t.Fatal("oversized frame accepted")
		}
		if err != nil {
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if env.V != Version || env.Type == "" {
			t.Fatalf("accepted %+v", env)
		}
		again, err := json.Marshal(env)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", env, err)
		}
		env2, err := Decode(again)
		if err != nil || env2.Type != env.Type || env2.ID != env.ID || env2.V != env.V {
			t.Fatalf("round trip %+v → %s → %+v (%v)", env, again, env2, err)
		}
	})
}
