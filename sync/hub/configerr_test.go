package hub

import (
	"strings"
	"testing"
)

// TestConfigErrorsSpeakJSON: each mistake in hub.json is named by key, line
// and column, and the kind wanted, never by Go's types or struct fields
// (issue 11 §5).
func TestConfigErrorsSpeakJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "the file is empty (want a JSON object, e.g. {})"},
		{"blank", " \n\t", "the file is empty (want a JSON object, e.g. {})"},
		{"type", `{"budget_share": "0.5"}`, "budget_share (line 1, column 22): want a number between 0 and 1, got a string"},
		{"range", `{"budget_share": 2}`, "budget_share: want a number between 0 and 1, got 2"},
		{"nested type", `{"chats": {"visitors_per_poll": "20"}}`, "chats.visitors_per_poll (line 1, column 36): want a whole number, got a string"},
		{"list type", `{"chats": {"bot_event_types": "bot"}}`, "chats.bot_event_types (line 1, column 35): want a list of strings, got a string"},
		{"map value type", `{"chat_access": {"130001": "yes"}}`, `chat_access (line 1, column 32): want an object of Omnidesk status ids to true or false`},
		{"not an object", `[1]`, "want a JSON object, e.g. {}, got an array"},
		{"syntax", "{\n  \"budget_share\": 0.5,\n  \"links\" {}\n}", "line 3, column 11: invalid character '{' after object key (not valid JSON)"},
		{"trailing comma", "{\"links\": {},\n}", "line 2, column 1: invalid character '}'"},
		{"cut short", "{\"links\": {\"201\": \"x\"", "line 1, column 21: the file ends inside an object"},
		{"trailing data", "{}\n{}", "line 2, column 1: more after the JSON object"},
		{"duration number", `{"grace_allowance": 30}`, `grace_allowance: want a Go duration string such as "90s" or "3m", got 30`},
		{"duration nested", `{"chats": {"poll_interval": "5x"}}`, `chats.poll_interval: want a Go duration string such as "90s" or "3m", got "5x"`},
		{"duration limits", `{"limits": {"max_retry_after": true}}`, `limits.max_retry_after: want a Go duration string`},
		{"duration negative", `{"max_lease": "-1m"}`, `max_lease: want a duration that is not negative, got "-1m"`},
		{"unknown key", `{"chats": {"pol_interval": "5s"}}`, `unknown key "chats.pol_interval"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile([]byte(tc.in))
			if err == nil {
				t.Fatalf("accepted %q", tc.in)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("got %q, want it to contain %q", msg, tc.want)
			}
			for _, internal := range []string{"Go struct", "FileConfig", "float64", "int64", "unmarshal", "parsing: EOF"} {
				if strings.Contains(msg, internal) {
					t.Fatalf("got %q, which speaks of Go internals (%q)", msg, internal)
				}
			}
		})
	}
}
