package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// ── the hub, restartable on one address ──

// hubLife is one hub instance's life; ready is set by watchReady, read only
// after readyDone is closed.
type hubLife struct {
	start, ready, stop time.Time
	readyDone          chan struct{}
}

type hubRunner struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	log   *hubLog
	addr  string
	lives []*hubLife
	// budgetFile carries the learned Omnidesk budget from one hub to the
	// next, as omnitray-hub's state directory does.
	budgetFile string

	cancel context.CancelFunc // ends the current life's readiness watch
	run    *hubtest.Running
}

// start runs a new hub (new clients, new pacer, as a new process would have)
// on addr, retrying the listen while the old socket is still being released.
func (r *hubRunner) start(addr string) error {
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	r.addr = ln.Addr().String()
	h := hubtest.New(r.t, r.sb, hubFile, func(c *hub.Config) {
		c.Secret, c.Logger, c.BudgetFile = hubSecret, slog.New(r.log), r.budgetFile
	})
	life := &hubLife{start: time.Now(), readyDone: make(chan struct{})}
	r.lives = append(r.lives, life)
	ctx, cancel := context.WithCancel(context.Background())
	r.run = hubtest.ServeOn(r.t, ctx, h, ln)
	go watchReady(ctx, r.run.URL+"/healthz", life)
	r.cancel = cancel
	return nil
}

// watchReady records when the hub first answers /healthz with 200 (its
// first staff poll went through).
func watchReady(ctx context.Context, url string, life *hubLife) {
	defer close(life.readyDone)
	hc := &http.Client{Timeout: time.Second}
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				life.ready = time.Now()
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the hub as a process exit would: its pollers stop, its port
// closes and every agent's connection drops.
func (r *hubRunner) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.run.Stop()
	life := r.lives[len(r.lives)-1]
	life.stop = time.Now()
	<-life.readyDone
	r.cancel = nil
}

// minServing is how long a hub serves before the test restarts it: agents
// reconnect within maxBackoff, so by then they are all back.
const minServing = maxBackoff

// waitServing waits until at, and until the current hub has been ready for
// minServing, so that every restart cuts off connected agents rather than
// a hub nobody reached yet. It returns false if ctx ends first.
func (r *hubRunner) waitServing(ctx context.Context, at time.Time) bool {
	life := r.lives[len(r.lives)-1]
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(at)):
	}
	select {
	case <-ctx.Done():
		return false
	case <-life.readyDone:
	}
	if life.ready.IsZero() {
		return false // the hub stopped before it was ready; cannot happen here
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(life.ready.Add(minServing))):
		return true
	}
}

func (r *hubRunner) restart() {
	r.stop()
	time.Sleep(restartDowntime)
	if err := r.start(r.addr); err != nil {
		r.t.Errorf("restarting the hub: %v", err)
	}
}
