package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ErrAlreadyRunning means another agent of this user answers on the control
// socket.
var ErrAlreadyRunning = errors.New("another omnitray agent is already running for this user")

// ControlPath is the per-user socket on which a running agent answers
// `omnitray status`. It lives in the user's runtime directory, which only
// the user can read.
func ControlPath() (string, error) {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir != "" {
		dir = filepath.Join(dir, "omnitray")
	} else {
		dir = filepath.Join(os.TempDir(), "omnitray-"+strconv.Itoa(os.Getuid()))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the runtime directory: %w", err)
	}
	return filepath.Join(dir, "agent.sock"), nil
}

// ServeControl answers on the control socket until ctx ends. A socket left
// behind by a killed agent is replaced; a live one means this agent is a
// second instance. onShow, if set, runs when a second instance asks this one
// to show itself.
func (a *Agent) ServeControl(ctx context.Context, path string, onShow func()) error {
	if _, err := ReadState(ctx, path); err == nil {
		return ErrAlreadyRunning
	}
	_ = os.Remove(path) // stale socket of a killed agent
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listening on the control socket: %w", err)
	}
	_ = os.Chmod(path, 0o600)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a.State())
	})
	mux.HandleFunc("POST /switch", a.serveSwitch)  // omnitray switch (switch.go)
	mux.HandleFunc("GET /history", a.serveHistory) // omnitray history (historycontrol.go)
	mux.HandleFunc("POST /show", func(w http.ResponseWriter, r *http.Request) {
		if onShow != nil {
			onShow()
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /signout", a.serveSignOut)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
		_ = os.Remove(path)
	}()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

func controlClient(path string) *http.Client {
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}}
}

// AskToShow tells the running agent that the user started it again.
func AskToShow(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://agent/show", nil)
	if err != nil {
		return err
	}
	resp, err := controlClient(path).Do(req)
	if err != nil {
		return fmt.Errorf("no agent is running (nothing answers on %s)", path)
	}
	resp.Body.Close()
	return nil
}

// ReadState asks the agent on the control socket for its state.
func ReadState(ctx context.Context, path string) (State, error) {
	hc := controlClient(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/state", nil)
	if err != nil {
		return State{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return State{}, fmt.Errorf("no agent is running (nothing answers on %s)", path)
	}
	defer resp.Body.Close()
	var s State
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return State{}, fmt.Errorf("reading the agent's state: %w", err)
	}
	return s, nil
}
