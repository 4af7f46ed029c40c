package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
)

// envValue is the last value of key in env, as a process would see it.
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// startAgentProc runs a headless agent with token, in a runtime directory of
// its own (one agent per user otherwise), and waits until it is connected.
func startAgentProc(t testing.TB, s *stack, token string) (*proc, []string) {
	t.Helper()
	env := with(s.env, "OMNITRAY_TOKEN="+token, "XDG_RUNTIME_DIR="+t.TempDir())
	p := startProc(t, env, omnitrayBin, "run", "--headless", "--hub", s.hubURL)
	waitFor(t, "the agent connected", func() bool {
		if p.exited() {
			t.Fatalf("the agent exited: %s", p.stderr.String())
		}
		conn, _ := agentView(t, s, env)
		return conn == "connected"
	})
	return p, env
}

// feedRefusal connects a feed client with token and returns why it stopped.
func feedRefusal(t testing.TB, s *stack, token string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	out := make(chan feed.Event, 64)
	go func() {
		for range out {
		}
	}()
	err := newFeedClient(t, s.hubURL, token).Run(ctx, out)
	close(out)
	return err
}

// tokenRow is one row of `omnitray-hub token list --json`.
type tokenRow struct {
	ID       string    `json:"id"`
	Staff    int64     `json:"staff"`
	State    string    `json:"state"`
	LastSeen time.Time `json:"last_seen"`
}

// listedTokens runs `omnitray-hub token list --json` as an admin would.
func listedTokens(t testing.TB, s *stack) []tokenRow {
	t.Helper()
	r := runProc(t, s.env, hubBin, "token", "list", "--json")
	var list struct {
		Tokens []tokenRow `json:"tokens"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil {
		t.Fatalf("token list --json: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	return list.Tokens
}

// TestTokenRevokeStaffAgainstRunningHub: `token revoke --staff N`, run as an
// admin would with the hub's default state directory, disconnects that
// employee's agent within 2 s, which says why and does not come back;
// another employee's agent stays; the revocation outlives a hub restart.
func TestTokenRevokeStaffAgainstRunningHub(t *testing.T) {
	s := startStack(t)
	annaToken, borisToken := s.token(staffAnna), s.token(staffBoris)
	anna, _ := startAgentProc(t, s, annaToken)
	_, borisEnv := startAgentProc(t, s, borisToken)

	// The hub saves when it first saw a token within a second or so.
	waitFor(t, "token list showing when the hub last saw Anna's token", func() bool {
		for _, tk := range listedTokens(t, s) {
			if tk.Staff == staffAnna && tk.State == "active" && !tk.LastSeen.IsZero() {
				return true
			}
		}
		return false
	})

	r := runProc(t, s.env, hubBin, "token", "revoke", "--staff", strconv.FormatInt(staffAnna, 10))
	revokedAt := time.Now()
	if r.code != 0 {
		t.Fatalf("token revoke --staff: code %d, stderr %q", r.code, r.stderr)
	}
	deadline := revokedAt.Add(guard)
	for !strings.Contains(anna.stderr.String(), feed.ReasonTokenRevoked) {
		if time.Now().After(deadline) {
			t.Fatalf("Anna's agent not disconnected with %q; stderr:\n%s", feed.ReasonTokenRevoked, anna.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(revokedAt)
	t.Logf("Anna's agent disconnected %v after the revoke command exited", took.Round(10*time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("Anna's agent was disconnected %v after the revocation, want within 2 s", took.Round(10*time.Millisecond))
	}
	waitFor(t, "Anna's agent to stop", anna.exited)
	t.Logf("Anna's agent said:\n%s", anna.stderr.String())
	if anna.exitCode() == 0 || strings.Contains(anna.stderr.String(), "lost the hub") {
		t.Errorf("Anna's agent: exit %d; stderr:\n%s", anna.exitCode(), anna.stderr.String())
	}
	if err := feedRefusal(t, s, annaToken); !errors.Is(err, feed.ErrTokenRevoked) {
		t.Fatalf("reconnecting with Anna's revoked token: %v, want %q", err, feed.ReasonTokenRevoked)
	}
	if conn, _ := agentView(t, s, borisEnv); conn != "connected" {
		t.Fatalf("Boris's agent is %q after Anna's revocation", conn)
	}
	states := map[int64]string{}
	for _, tk := range listedTokens(t, s) {
		states[tk.Staff] = tk.State
	}
	if states[staffAnna] != "revoked" || states[staffBoris] != "active" {
		t.Fatalf("token list states %v, want Anna revoked and Boris active", states)
	}

	s.hub.kill()
	s.hub = startProc(t, s.hubEnv, hubBin, "serve")
	if !s.waitHubReady() {
		t.Fatalf("the hub did not come back: %s", s.hub.stderr.String())
	}
	if err := feedRefusal(t, s, annaToken); !errors.Is(err, feed.ErrTokenRevoked) {
		t.Fatalf("after a hub restart Anna's revoked token: %v, want %q", err, feed.ReasonTokenRevoked)
	}
	waitFor(t, "Boris's agent back after the hub restart", func() bool {
		conn, _ := agentView(t, s, borisEnv)
		return conn == "connected"
	})
	assertNoTokenInFiles(t, annaToken, filepath.Join(envValue(s.env, "XDG_CONFIG_HOME"), "omnitray-hub"))
}

// TestTokenExpiryClosesLiveAgentSession: a token that expires while its
// agent is connected ends the session then, and the agent says to log in.
func TestTokenExpiryClosesLiveAgentSession(t *testing.T) {
	s := startStack(t)
	// Long enough for the agent to connect first on a loaded machine.
	const ttl = 10 * time.Second
	tok, err := hub.Sign([]byte(s.secret), staffChen, time.Now(), ttl)
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Unix(time.Now().Add(ttl).Unix(), 0) // the claims' second
	agent, _ := startAgentProc(t, s, tok)
	if time.Now().After(expires) {
		t.Fatal("the agent took longer to connect than the token lived; nothing was tested")
	}
	waitFor(t, "the agent to say its token expired", func() bool {
		return strings.Contains(agent.stderr.String(), feed.ReasonTokenExpired)
	})
	if early := expires.Sub(time.Now()); early > 0 {
		t.Fatalf("the session closed %v before the token expired", early)
	}
	waitFor(t, "the agent to stop", agent.exited)
	if agent.exitCode() == 0 {
		t.Errorf("the agent exited 0 after its token expired")
	}
}

// TestTokenTTLBadInput: the token lifetime is capped at a year, refused
// with one line naming the flag and the range.
func TestTokenTTLBadInput(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	env := with(procEnv(t), "OMNITRAY_HUB_SECRET=0123456789abcdef0123456789abcdef")
	for _, ttl := range []string{"10000h", "87600h", "18446744103s", "30s"} {
		r := runProc(t, env, hubBin, "token", "--staff", "201", "--ttl", ttl)
		if r.code != 2 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
			!strings.Contains(r.stderr, "--ttl") || !strings.Contains(r.stderr, "8760h") {
			t.Errorf("token --ttl %s: exit %d, stdout %q, stderr %q; want 2, nothing, one line naming --ttl and 8760h",
				ttl, r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{{"token", "--help"}, {"token", "list", "--help"}, {"token", "revoke", "--help"}} {
		if r := runProc(t, env, hubBin, args...); r.code != 0 || !strings.Contains(r.stdout, "Usage") {
			t.Errorf("%q: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
}
