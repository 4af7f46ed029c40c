package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/omnitray/omnitray/sync/sandbox"
)

// sandboxURLs is what `omnitray sandbox --ready-file` writes.
type sandboxURLs struct {
	Chaport  string `json:"chaport"`
	Omnidesk string `json:"omnidesk"`
	Control  string `json:"control"`
}

type runningSandbox struct {
	*child
	urls sandboxURLs
}

// waitUntil polls ready every 100 ms until it is true, the context ends or
// the time is up.
func waitUntil(ctx context.Context, limit time.Duration, what string, ready func() bool) error {
	deadline := time.Now().Add(limit)
	for !ready() {
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: not after %v", what, limit)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// startSandbox runs `omnitray sandbox` on free loopback ports.
func startSandbox(ctx context.Context, cs *children, bin, dir string) (*runningSandbox, error) {
	ready := filepath.Join(dir, "sandbox.ready")
	c, err := cs.start(dir, "sandbox", exec.Command(filepath.Join(bin, "omnitray"), "sandbox",
		"--chaport-listen", "127.0.0.1:0", "--omnidesk-listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0",
		"--omnidesk-budget", "240", "--ready-file", ready))
	if err != nil {
		return nil, err
	}
	s := &runningSandbox{child: c}
	err = waitUntil(ctx, 20*time.Second, "sandbox ready", func() bool {
		b, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(b, &s.urls) == nil && s.urls.Control != ""
	})
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, c.logTail())
	}
	return s, nil
}

// setStatus sets an employee's Omnidesk status through the control port.
func (s *runningSandbox) setStatus(staff, statusID int) error {
	url := fmt.Sprintf("%s/_sandbox/staff/%d/status", s.urls.Control, staff)
	resp, err := http.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"status_id": %d}`, statusID)))
	if err != nil {
		return fmt.Errorf("setting staff %d's status: %w", staff, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("setting staff %d's status: %s", staff, resp.Status)
	}
	return nil
}

// chaportCalls is the sandbox's log of Chaport calls after seq.
func (s *runningSandbox) chaportCalls(since int) ([]sandbox.Call, error) {
	resp, err := http.Get(fmt.Sprintf("%s/_sandbox/calls?service=chaport&since=%d", s.urls.Control, since))
	if err != nil {
		return nil, fmt.Errorf("reading the call log: %w", err)
	}
	defer resp.Body.Close()
	var calls []sandbox.Call
	if err := json.NewDecoder(resp.Body).Decode(&calls); err != nil {
		return nil, fmt.Errorf("decoding the call log: %w", err)
	}
	return calls, nil
}

var statusWritePath = regexp.MustCompile(`^/api/v1/operators/[0-9a-f]*/status$`)

// statusWrites counts the Chaport status writes in a call log.
func statusWrites(calls []sandbox.Call) int {
	n := 0
	for _, c := range calls {
		if c.Method == http.MethodPost && statusWritePath.MatchString(c.Path) {
			n++
		}
	}
	return n
}

type runningHub struct {
	*child
	url    string
	secret string
}

var hubURL = regexp.MustCompile(`url=(http://[0-9.:]+)`)

// startHub runs `omnitray-hub serve` against the sandbox, with chat access
// for the employees whose agents are measured.
func startHub(ctx context.Context, cs *children, bin, dir string, sb *runningSandbox) (*runningHub, error) {
	config := filepath.Join(dir, "hub.json")
	if err := os.WriteFile(config, []byte(`{"chat_access": {"130001": true}}`+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("writing the hub config: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	h := &runningHub{secret: hex.EncodeToString(key)}
	cmd := exec.Command(filepath.Join(bin, "omnitray-hub"), "serve", "--listen", "127.0.0.1:0",
		"--omnidesk-url", sb.urls.Omnidesk, "--omnidesk-email", "api@acme.test", "--chaport-url", sb.urls.Chaport,
		"--config", config, "--state-file", filepath.Join(dir, "hub-chat-state.json"))
	cmd.Env = append(os.Environ(), "OMNITRAY_HUB_SECRET="+h.secret, "OMNIDESK_API_KEY=sandbox-omnidesk-key",
		"CHAPORT_TOKEN=sandbox-chaport-token")
	c, err := cs.start(dir, "hub", cmd)
	if err != nil {
		return nil, err
	}
	h.child = c
	err = waitUntil(ctx, 20*time.Second, "hub listening", func() bool {
		b, _ := os.ReadFile(c.log)
		if m := hubURL.FindSubmatch(b); m != nil && bytes.Contains(b, []byte("hub listening")) {
			h.url = string(m[1])
		}
		return h.url != ""
	})
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, c.logTail())
	}
	err = waitUntil(ctx, 30*time.Second, "hub healthy", func() bool {
		resp, err := http.Get(h.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return h, err
}

// token is an agent token for an employee.
func (h *runningHub) token(bin string, staff int) (string, error) {
	cmd := exec.Command(filepath.Join(bin, "omnitray-hub"), "token", "--staff", fmt.Sprint(staff))
	cmd.Env = append(os.Environ(), "OMNITRAY_HUB_SECRET="+h.secret)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("making a token for staff %d: %w", staff, err)
	}
	return strings.TrimSpace(string(out)), nil
}
