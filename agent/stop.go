package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// feedGoodbye bounds how long Run waits, once its context ends, for the feed
// to say goodbye to the hub (close 1001, "going away"). A process that exits
// right after Run returns would otherwise cut the connection (1006), and the
// hub would log an abnormal close for an agent that quit cleanly.
const feedGoodbye = 3 * time.Second

// awaitFeed waits for the feed client to finish after cancellation. Wall
// time on purpose: this bounds a shutdown, not anything the agent decides.
func (a *Agent) awaitFeed(done <-chan error) {
	t := time.NewTimer(feedGoodbye)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		a.log.Debug("the hub connection did not close in time; leaving it")
	}
}

// SignOutFunc is what a running agent does when `omnitray logout` asks it to
// sign out: it returns one line for the user, and how to stop, which runs
// only once that line is on its way (stopping first would close the
// control socket under the answer).
type SignOutFunc func() (message string, stop func())

// signOutHook holds the SignOutFunc set with OnSignOut.
type signOutHook = atomic.Pointer[SignOutFunc]

// OnSignOut sets what the agent does when `omnitray logout` asks it, over
// the control socket, to sign out. Without it the agent refuses.
func (a *Agent) OnSignOut(f SignOutFunc) { a.signOut.Store(&f) }

func (a *Agent) serveSignOut(w http.ResponseWriter, r *http.Request) {
	f := a.signOut.Load()
	if f == nil {
		http.Error(w, "this agent cannot be signed out from outside; stop it instead", http.StatusConflict)
		return
	}
	msg, stop := (*f)()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(signOutAnswer{Message: msg})
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	if stop != nil {
		stop()
	}
}

type signOutAnswer struct {
	Message string `json:"message"`
}

// ErrNoAgent means nothing answers on the control socket.
var ErrNoAgent = errors.New("no agent is running")

// AskToSignOut asks the agent on the control socket to sign out, and returns
// what it answered for the user; ErrNoAgent when none runs.
func AskToSignOut(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://agent/signout", nil)
	if err != nil {
		return "", fmt.Errorf("building the sign-out request: %w", err)
	}
	resp, err := controlClient(path).Do(req)
	if err != nil {
		return "", ErrNoAgent
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// An agent from before this request existed answers 404.
		return "", fmt.Errorf("asking the running agent to sign out: it answered %s; stop it (Quit in the tray menu)", resp.Status)
	}
	var ans signOutAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return "", fmt.Errorf("reading the running agent's answer: %w", err)
	}
	return ans.Message, nil
}
