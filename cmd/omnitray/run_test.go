package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgentDurationErrors: each way of giving `omnitray run` a bad duration
// gets a message naming that way and the accepted form (issue 11 §5).
func TestAgentDurationErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		config string
		want   string
	}{
		{name: "flag", args: []string{"--grace", "5x"}, want: "--grace 5x: not a duration; want a Go duration such as 90s or 3m"},
		{name: "variable", env: map[string]string{"OMNITRAY_GRACE": "5x"}, want: "OMNITRAY_GRACE=5x: not a duration; want a Go duration such as 90s or 3m"},
		{name: "config number", config: `{"grace": 30}`, want: `"grace": 30 in config `},
		{name: "config number form", config: `{"grace": 30}`, want: "a number needs a unit; want a Go duration such as 90s or 3m"},
		{name: "variable zero", env: map[string]string{"OMNITRAY_GRACE": "0"}, want: "OMNITRAY_GRACE=0: must be at least 1s (a Go duration such as 90s or 3m)"},
		{name: "lease variable", env: map[string]string{"OMNITRAY_LEASE": "0s"}, want: "OMNITRAY_LEASE=0s: must be at least 1s"},
		{name: "drift config", config: `{"drift-check": "10ms"}`, want: `"drift-check": 10ms in config`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"OMNITRAY_GRACE", "OMNITRAY_LEASE", "OMNITRAY_HUB_URL", "OMNITRAY_CONFIG"} {
				t.Setenv(k, tc.env[k])
			}
			path := filepath.Join(t.TempDir(), "config.json")
			if tc.config == "" {
				tc.config = "{}"
			}
			if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			f := newAgentFlags("run", "omnitray run")
			err := f.parse(append([]string{"--config", path}, tc.args...))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "parse error") {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.HasPrefix(tc.name, "variable") && strings.Contains(err.Error(), "--grace") {
				t.Fatalf("got %q: blames the flag for a variable's value", err)
			}
		})
	}
}
