package hub

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

func TestLimitsConfigBounds(t *testing.T) {
	for _, tc := range []struct {
		json string
		bad  string // part of the error; "" for accepted
	}{
		{`{}`, ""},
		{`{"limits":{"sessions_per_staff":1,"requests_per_minute":60000,"request_burst":1,"switches_per_minute":600,"max_retry_after":"1h"}}`, ""},
		{`{"limits":{"sessions_per_staff":-1}}`, "sessions_per_staff -1"},
		{`{"limits":{"sessions_per_staff":1001}}`, "sessions_per_staff 1001"},
		{`{"limits":{"requests_per_minute":60001}}`, "requests_per_minute"},
		{`{"limits":{"request_burst":-5}}`, "request_burst"},
		{`{"limits":{"switches_per_minute":601}}`, "switches_per_minute"},
		{`{"limits":{"max_retry_after":"2h"}}`, "max_retry_after"},
		{`{"limits":{"max_retry_after":"10ms"}}`, "max_retry_after"},
		{`{"limits":{"sessions":3}}`, `unknown key "limits.sessions"`},
	} {
		fc, err := ParseFile([]byte(tc.json))
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%s: %v", tc.json, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%s: got %v, want an error about %s", tc.json, err, tc.bad)
		case tc.json == `{}` && (fc.Limits.SessionsPerStaff != 8 || fc.Limits.RequestsPerMinute != 120 ||
			fc.Limits.RequestBurst != 20 || fc.Limits.SwitchesPerMinute != 4 || time.Duration(fc.Limits.MaxRetryAfter) != time.Minute):
			t.Errorf("defaults: %+v", fc.Limits)
		}
	}
}

// A connection's requests beyond its bucket are refused with a retry time,
// and the bucket refills at the configured rate.
func TestRequestBudget(t *testing.T) {
	now := time.Unix(1000, 0)
	lim := LimitsConfig{RequestsPerMinute: 60, RequestBurst: 3}.withDefaults().newRequestLimiter()
	for i := range 3 {
		if ok, _ := take(lim, now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, retry := take(lim, now)
	if ok || retry <= 0 || retry > time.Second {
		t.Fatalf("fourth request: ok %v, retry %v (want refused, about 1s)", ok, retry)
	}
	// A refused request spends nothing: after the retry time one goes.
	if ok, _ := take(lim, now.Add(retry)); !ok {
		t.Fatal("refused after the retry time it was given")
	}
	if ok, _ := take(lim, now.Add(retry)); ok {
		t.Fatal("two requests went on one refilled token")
	}
}

func TestSwitchGate(t *testing.T) {
	now := time.Unix(1000, 0)
	g := newSwitchGate(LimitsConfig{SwitchesPerMinute: 2}.withDefaults())
	if err := g.enter(7, now); err != nil {
		t.Fatal(err)
	}
	var le *limitError
	if err := g.enter(7, now); !errors.As(err, &le) || !strings.Contains(le.what, "already under way") {
		t.Fatalf("second switch in flight: %v", err)
	}
	if err := g.enter(8, now); err != nil {
		t.Fatalf("another employee's switch: %v", err)
	}
	g.leave(7)
	if err := g.enter(7, now); err != nil {
		t.Fatalf("second switch of the minute: %v", err)
	}
	g.leave(7)
	err := g.enter(7, now)
	if !errors.As(err, &le) || le.retry < 29*time.Second || le.retry > 30*time.Second {
		t.Fatalf("third switch of the minute: %v (retry %v, want 30s)", err, le.retry)
	}
	if err := g.enter(7, now.Add(30*time.Second)); err != nil {
		t.Fatalf("switch after the retry time: %v", err)
	}
}

// Refused handshakes cost one log line per source and minute, with a count.
func TestRefusalLogOncePerSourcePerMinute(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	var buf bytes.Buffer
	l := newMinuteLog(fc, slog.New(slog.NewTextHandler(&buf, nil)))
	for range 500 {
		l.note("10.0.0.1:4000", "token signature does not match")
		l.note("10.0.0.2:4000", "token expired")
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines for 1000 refusals from two sources in one minute:\n%s", n, buf.String())
	}
	fc.Advance(time.Minute)
	buf.Reset()
	l.note("10.0.0.1:4001", "token signature does not match")
	if !strings.Contains(buf.String(), "times_since_last_line=499") {
		t.Fatalf("the next minute's line lacks the count: %s", buf.String())
	}
	// Many sources: memory stays bounded, the excess is logged as one.
	for i := range maxRefusalSources + 100 {
		l.note(fmt.Sprintf("10.1.%d.%d:1", i/256, i%256), "x")
	}
	// The cap, plus the one entry the excess shares.
	if len(l.sources) > maxRefusalSources+1 || l.sources["other sources"] == nil {
		t.Fatalf("%d sources remembered", len(l.sources))
	}
}
