package vendorapi

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"1.5", 1500 * time.Millisecond},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{"Wed, 04 Mar 2026 05:07:07 GMT", time.Minute},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0}, // already past
		{"0", 0},
		{"-5", 0},
		{"", 0},
		{"soon", 0},
		{"7 seconds", 0},
	} {
		if got := ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestServerMessage(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"json message", `{"message": "Invalid access token"}`, "Invalid access token"},
		{"json error", `{"error": "not found", "code": 404}`, "not found"},
		{"nested error", `{"error": {"message": "rate limit exceeded", "code": 7}}`, "rate limit exceeded"},
		{"oauth style", `{"error_description": "token expired"}`, "token expired"},
		{"message wins", `{"error": "e", "message": "m"}`, "m"},
		{"json without message", `{"code": 5}`, `{"code": 5}`},
		{"plain text", "Bad Gateway\n", "Bad Gateway"},
		{"whitespace collapsed", "  line one\r\n\tline   two ", "line one line two"},
		{"long text trimmed", long, strings.Repeat("x", 200) + "…"},
		{"long json message trimmed", `{"message": "` + long + `"}`, strings.Repeat("x", 200) + "…"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := serverMessage([]byte(tc.body)); got != tc.want {
				t.Errorf("serverMessage(%q) = %q, want %q", tc.body, got, tc.want)
			}
		})
	}
}
