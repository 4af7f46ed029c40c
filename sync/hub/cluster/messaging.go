package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/omnitray/omnitray/sync/hub"
)

// Publications and requests live under two prefixes so that the hub may
// use one name for both without a subscriber seeing requests.

// checkSubject refuses what NATS would read as wildcards or not route.
func checkSubject(s string) error {
	if s == "" {
		return errors.New("empty subject")
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return fmt.Errorf("subject %q: empty token", s)
		}
		if strings.ContainsAny(tok, "*> \t\r\n") {
			return fmt.Errorf("subject %q: wildcards and white space are not allowed", s)
		}
	}
	return nil
}

func (c *Cluster) msg(subject string, data []byte) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Header.Set(nodeHeader, c.opts.NodeName)
	m.Data = data
	return m
}

// Publish sends data to the other replicas' subscribers of subject. It is
// core NATS: a replica that is away misses it.
func (c *Cluster) Publish(subject string, data []byte) error {
	if err := checkSubject(subject); err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	if err := c.nc.PublishMsg(c.msg(subjectPub+subject, data)); err != nil {
		return fmt.Errorf("publishing on %s: %w", subject, err)
	}
	return nil
}

// Subscribe calls handle for what the other replicas publish on subject,
// one message at a time in the order each sent them (NATS keeps one
// connection's order, and each subscription has one delivering
// goroutine), until ctx ends. It returns once this replica's server has the
// subscription; the others' servers learn of it a moment later.
func (c *Cluster) Subscribe(ctx context.Context, subject string, handle func(data []byte)) error {
	if err := checkSubject(subject); err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}
	sub, err := c.nc.Subscribe(subjectPub+subject, func(m *nats.Msg) {
		if ctx.Err() != nil || m.Header.Get(nodeHeader) == c.opts.NodeName {
			return
		}
		handle(m.Data)
	})
	if err != nil {
		return fmt.Errorf("subscribing to %s: %w", subject, err)
	}
	return c.placed(ctx, sub, subject)
}

// placed unsubscribes sub when ctx ends, and waits for the server to have
// it.
func (c *Cluster) placed(ctx context.Context, sub *nats.Subscription, subject string) error {
	context.AfterFunc(ctx, func() { _ = sub.Unsubscribe() })
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.nc.FlushWithContext(fctx); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("subscribing to %s: %w", subject, err)
	}
	return nil
}

// serveQueue makes one replica answer a request if two serve it at once
// (a leader stepping down beside the next one).
const serveQueue = "omnitray-hub"

// maxServing bounds the requests handled at once by one Serve; past it the
// next ones wait their turn.
const maxServing = 32

// Serve answers requests on subject while ctx lives. Each request is
// handled in its own goroutine (up to maxServing at once), with a context
// that ends with ctx, so handle must be safe for concurrent use.
func (c *Cluster) Serve(ctx context.Context, subject string, handle func(ctx context.Context, data []byte) []byte) error {
	if err := checkSubject(subject); err != nil {
		return fmt.Errorf("serving: %w", err)
	}
	slots := make(chan struct{}, maxServing)
	sub, err := c.nc.QueueSubscribe(subjectReq+subject, serveQueue, func(m *nats.Msg) {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		go func() {
			defer func() { <-slots }()
			if ctx.Err() != nil {
				return
			}
			resp := handle(ctx, m.Data)
			if err := m.RespondMsg(c.msg(m.Reply, resp)); err != nil && ctx.Err() == nil {
				c.log.Debug("cluster: answering a request failed", "subject", subject, "err", err)
			}
		}()
	})
	if err != nil {
		return fmt.Errorf("serving %s: %w", subject, err)
	}
	return c.placed(ctx, sub, subject)
}

// Request sends data to the replica serving subject and returns its answer.
// It fails with hub.ErrNoResponder when none serves it.
func (c *Cluster) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	if err := checkSubject(subject); err != nil {
		return nil, fmt.Errorf("requesting: %w", err)
	}
	resp, err := c.nc.RequestMsgWithContext(ctx, c.msg(subjectReq+subject, data))
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, fmt.Errorf("requesting %s: %w", subject, hub.ErrNoResponder)
	}
	if err != nil {
		return nil, fmt.Errorf("requesting %s: %w", subject, err)
	}
	return resp.Data, nil
}

// Each replica says it is alive every RenewEvery, and bye when it closes:
// Health counts the replicas heard from lately. This counts hub replicas
// (not NATS servers) the same way in embedded and external mode.
const byeMessage = "bye"

func (c *Cluster) startAlive() error {
	sub, err := c.nc.Subscribe(subjectAlive, func(m *nats.Msg) {
		node := m.Header.Get(nodeHeader)
		if node == "" || node == c.opts.NodeName {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if string(m.Data) == byeMessage {
			delete(c.alive, node)
			return
		}
		c.alive[node] = c.opts.now()
	})
	if err != nil {
		return fmt.Errorf("subscribing to the replicas' heartbeats: %w", err)
	}
	c.wg.Go(func() {
		defer func() { _ = sub.Unsubscribe() }()
		for {
			_ = c.nc.PublishMsg(c.msg(subjectAlive, nil))
			if !sleep(c.ctx, c.opts.RenewEvery) {
				_ = c.nc.PublishMsg(c.msg(subjectAlive, []byte(byeMessage)))
				_ = c.nc.FlushTimeout(time.Second)
				return
			}
		}
	})
	return nil
}

// aliveCount counts the other replicas heard from in the last three
// heartbeats; c.mu is held.
func (c *Cluster) aliveCount(now time.Time) int {
	n := 0
	for node, at := range c.alive {
		if now.Sub(at) < 3*c.opts.RenewEvery {
			n++
		} else {
			delete(c.alive, node)
		}
	}
	return n
}
