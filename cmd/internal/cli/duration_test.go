package cli

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestDurationMessages: every refused duration names where it was given
// (flag, variable or config key, with the value) and the accepted form,
// never the flag package's bare "parse error", and a bound names the
// setting's real source rather than always the flag.
func TestDurationMessages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		env    string
		file   map[string]string
		want   string
		reject string // must not appear
	}{
		{name: "flag", args: []string{"--grace", "5x"},
			want: "--grace 5x: not a duration; want a Go duration such as 90s or 3m"},
		{name: "variable", env: "5x",
			want: "CLI_TEST_GRACE=5x: not a duration; want a Go duration such as 90s or 3m"},
		{name: "config number", file: map[string]string{"grace": "30"},
			want: `"grace": 30 in config /x.json: a number needs a unit; want a Go duration such as 90s or 3m`},
		{name: "variable zero is the variable's fault", env: "0",
			want: "CLI_TEST_GRACE=0: must be at least 1s (a Go duration such as 90s or 3m)", reject: "--grace"},
		{name: "variable 0s below the bound", env: "0s",
			want: "CLI_TEST_GRACE=0s: must be at least 1s (a Go duration such as 90s or 3m)", reject: "--grace"},
		{name: "flag below the bound", args: []string{"--grace", "500ms"},
			want: "--grace 500ms: must be at least 1s"},
		{name: "config below the bound", file: map[string]string{"grace": "0s"},
			want: `"grace": 0s in config /x.json: must be at least 1s`},
		{name: "flag beats a bad config value", args: []string{"--grace", "2s"}, file: map[string]string{"grace": "0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CLI_TEST_GRACE", tc.env)
			fs := NewFlagSet("prog", "run", "prog run")
			grace := fs.Duration("grace", time.Minute, "grace delay")
			fs.Env("grace", "CLI_TEST_GRACE")
			err := fs.Parse(tc.args)
			if err == nil && tc.file != nil {
				err = fs.ApplyFile("config /x.json", tc.file)
			}
			if err == nil {
				err = fs.AtLeast("grace", *grace, time.Second)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v, want a UsageError", err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "parse error") {
				t.Fatalf("got %q, want it to contain %q", err, tc.want)
			}
			if tc.reject != "" && strings.Contains(err.Error(), tc.reject) {
				t.Fatalf("got %q, which blames %q", err, tc.reject)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "3m": 3 * time.Minute, "1h2m": time.Hour + 2*time.Minute} {
		if d, err := ParseDuration(in); err != nil || d != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
	for _, in := range []string{"", "5x", "30", "-", "1.5"} {
		if _, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), DurationForm) {
			t.Errorf("ParseDuration(%q) error %v: want one that says %q", in, err, DurationForm)
		}
	}
}
