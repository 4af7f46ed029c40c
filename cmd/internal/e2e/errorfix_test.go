package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsSayTheFix runs the real binaries on bad input seen by new users
// (issue 11 §5) and checks the exit code and that the one line names the
// setting to fix and how.
func TestErrorsSayTheFix(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	env := procEnv(t)
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	hubEnv := with(env, "OMNIDESK_URL=http://127.0.0.1:1", "OMNIDESK_EMAIL=api@acme.test",
		"OMNIDESK_API_KEY=k", "CHAPORT_URL=http://127.0.0.1:1", "CHAPORT_TOKEN=t",
		"OMNITRAY_HUB_SECRET="+hex.EncodeToString(raw), "OMNITRAY_HUB_LISTEN="+freePort(t),
		"OMNITRAY_HUB_STATE_DIR="+t.TempDir())
	var noChaport []string
	for _, kv := range hubEnv {
		if !strings.HasPrefix(kv, "CHAPORT_URL=") {
			noChaport = append(noChaport, kv)
		}
	}
	badConfig := filepath.Join(t.TempDir(), "hub.json")
	if err := os.WriteFile(badConfig, []byte(`{"budget_share": "0.5"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// A port that is taken, for the sandbox's control page.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	withToken := with(env, "OMNITRAY_TOKEN=omt1.e2e-token-value")

	for _, tc := range []struct {
		name  string
		env   []string
		bin   string
		args  []string
		code  int
		words []string // each in the one line
		not   string   // must not be on stderr
	}{
		{"TLS files are checked before listening", hubEnv, hubBin,
			[]string{"serve", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"},
			2, []string{"--tls-cert", "/nonexistent/cert.pem"}, "hub listening"},
		{"--chaport-url names CHAPORT_URL", noChaport, hubBin, []string{"serve"},
			2, []string{"--chaport-url", "CHAPORT_URL"}, ""},
		{"hub config names the key", hubEnv, hubBin, []string{"serve", "--config", badConfig},
			2, []string{"budget_share", "want a number between 0 and 1, got a string"}, "Go struct"},
		{"sandbox port clash says how to move it", env, omnitrayBin,
			[]string{"sandbox", "--chaport-listen", "127.0.0.1:0", "--omnidesk-listen", "127.0.0.1:0",
				"--control-listen", taken.Addr().String()},
			1, []string{taken.Addr().String(), "--control-listen 127.0.0.1:0"}, ""},
		{"a port no hub can have", withToken, omnitrayBin,
			[]string{"run", "--headless", "--hub", "http://127.0.0.1:99999"}, 2, []string{"port 99999"}, ""},
		{"a duration variable names itself and the form", with(withToken, "OMNITRAY_GRACE=5x"), omnitrayBin,
			[]string{"run", "--headless", "--hub", "http://127.0.0.1:1"}, 2,
			[]string{"OMNITRAY_GRACE=5x", "a Go duration such as 90s or 3m"}, "parse error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runProc(t, tc.env, tc.bin, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
			}
			if strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr %q: want exactly one line", r.stderr)
			}
			for _, w := range tc.words {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
			if tc.not != "" && strings.Contains(r.stderr, tc.not) {
				t.Errorf("stderr %q has %q", r.stderr, tc.not)
			}
		})
	}
}

// TestAgentSaysNeverConnectedToANonHub: an agent pointed at a web server
// that is not a hub says so once, as "never connected", instead of logging
// "disconnected" on every try (issue 11 §5).
func TestAgentSaysNeverConnectedToANonHub(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	notHub := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notHub.Close)
	p := startProc(t, with(procEnv(t), "OMNITRAY_TOKEN=omt1.e2e-token-value"), omnitrayBin,
		"run", "--headless", "--hub", notHub.URL)
	waitFor(t, "the 'never connected' line", func() bool {
		return strings.Contains(p.stderr.String(), "never connected to "+notHub.URL)
	})
	p.kill()
	out := p.stderr.String()
	if !strings.Contains(out, "check the hub URL (--hub)") || strings.Contains(out, "disconnected") {
		t.Fatalf("stderr:\n%s\nwant one 'never connected … check the hub URL (--hub)' line and no 'disconnected'", out)
	}
}
