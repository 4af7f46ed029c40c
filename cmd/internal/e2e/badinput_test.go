package e2e

import (
	"strings"
	"testing"
)

// TestBadInput runs command lines that must fail, each as a process, and
// checks the house rule (README, Commands): a non-zero exit and exactly
// one line on stderr — which never repeats the token it was given.
func TestBadInput(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	// A live hub, for the agent that is refused by it.
	s := startStack(t)
	const token = "omt1.secret-looking-token-value.that-must-not-leak"
	withToken := with(s.env, "OMNITRAY_TOKEN="+token)
	// Should a refusal regress, the hub must not take the default port.
	hubEnv := with(s.hubEnv, "OMNITRAY_HUB_LISTEN=127.0.0.1:0")
	var noOmnidesk []string
	for _, kv := range hubEnv {
		if !strings.HasPrefix(kv, "OMNIDESK_URL=") {
			noOmnidesk = append(noOmnidesk, kv)
		}
	}

	for _, tc := range []struct {
		name   string
		env    []string
		bin    string
		args   []string
		reason string // a word the one line must contain
	}{
		{"run without --hub", withToken, omnitrayBin, []string{"run", "--headless"}, "--hub"},
		{"run with plain http beyond loopback", withToken, omnitrayBin,
			[]string{"run", "--headless", "--hub", "http://10.1.2.3:8740"}, "10.1.2.3"},
		{"run with an empty item in the --hub list", withToken, omnitrayBin,
			[]string{"run", "--headless", "--hub", "http://127.0.0.1:1,,http://127.0.0.1:2"}, "--hub: hub URL 2 of 3 is empty"},
		{"run with a bad item in OMNITRAY_HUB_URL", with(withToken, "OMNITRAY_HUB_URL=https://a.acme.test, http://10.1.2.3:8740"),
			omnitrayBin, []string{"run", "--headless"}, "OMNITRAY_HUB_URL: hub URL 2 of 2: plain http to 10.1.2.3"},
		{"run with a grace under 1s", withToken, omnitrayBin,
			[]string{"run", "--headless", "--hub", "http://127.0.0.1:1", "--grace", "0s"}, "grace"},
		{"run with a token the hub refuses", with(s.env, "OMNITRAY_TOKEN=garbage"), omnitrayBin,
			[]string{"run", "--headless", "--hub", s.hubURL}, "refused"},
		{"token without --staff", with(s.env, "OMNITRAY_HUB_SECRET="+s.secret), hubBin, []string{"token"}, "--staff"},
		{"token without a secret", s.env, hubBin, []string{"token", "--staff", "5"}, "OMNITRAY_HUB_SECRET"},
		{"serve without OMNIDESK_URL", noOmnidesk, hubBin, []string{"serve"}, "omnidesk-url"},
		{"serve on a non-loopback address without TLS", hubEnv, hubBin,
			[]string{"serve", "--listen", "0.0.0.0:0"}, "TLS"},
		{"serve with a missing config file", hubEnv, hubBin, []string{"serve", "--config", "/nonexistent"}, "nonexistent"},
		{"unknown command", s.env, omnitrayBin, []string{"bogus"}, "bogus"},
		{"status with no agent running", s.env, omnitrayBin, []string{"status"}, "no agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runProc(t, tc.env, tc.bin, tc.args...)
			if r.code == 0 {
				t.Errorf("exit 0, want non-zero; stderr %q", r.stderr)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
				t.Errorf("stderr %q: want exactly one line", r.stderr)
			}
			// The reason is the last line (the only one, when the rule holds).
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, tc.reason) {
				t.Errorf("last stderr line %q: want a reason mentioning %q", last, tc.reason)
			}
			if strings.Contains(r.stderr+r.stdout, token) || strings.Contains(r.stderr+r.stdout, "garbage") {
				t.Errorf("the token value is repeated in the output: %q", r.stderr)
			}
		})
	}

	for _, tc := range []struct {
		bin  string
		args []string
	}{
		{omnitrayBin, []string{"--help"}},
		{omnitrayBin, []string{"run", "--help"}},
		{hubBin, []string{"serve", "--help"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runProc(t, s.env, tc.bin, tc.args...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage") {
				t.Errorf("exit %d, stdout %q, stderr %q: want 0 and a usage text", r.code, r.stdout, r.stderr)
			}
		})
	}
}
