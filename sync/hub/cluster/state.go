package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/omnitray/omnitray/sync/hub"
)

// encodeKey makes a hub key a KV key. The hub's keys ("budget", "pins",
// "revocations.node-a") pass as they are; any other byte, and a dot KV
// would refuse (leading, trailing or doubled), becomes =XX, '=' included,
// so that decoding is unambiguous.
func encodeKey(key string) (string, error) {
	if key == "" {
		return "", errors.New("empty key")
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		ch := key[i]
		plain := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			ch == '-' || ch == '_' || ch == '/'
		if ch == '.' {
			plain = i > 0 && i < len(key)-1 && key[i-1] != '.'
		}
		if plain {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "=%02X", ch)
		}
	}
	return b.String(), nil
}

// decodeKey undoes encodeKey.
func decodeKey(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("key %q: cut-off escape", s)
		}
		var ch byte
		if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &ch); err != nil {
			return "", fmt.Errorf("key %q: bad escape: %w", s, err)
		}
		b.WriteByte(ch)
		i += 2
	}
	return b.String(), nil
}

// Get returns key's shared value, or hub.ErrNoState. It reads from any
// replica of the bucket, so it may lag a Put made on another replica a
// moment ago; Watch sees every Put in order.
func (c *Cluster) Get(ctx context.Context, key string) ([]byte, error) {
	ek, err := encodeKey(key)
	if err != nil {
		return nil, fmt.Errorf("reading shared state: %w", err)
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, fmt.Errorf("reading shared state %s: %w", key, err)
	}
	e, err := c.state.Get(ctx, ek)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, hub.ErrNoState
	}
	if err != nil {
		return nil, fmt.Errorf("reading shared state %s: %w", key, err)
	}
	return e.Value(), nil
}

// Put stores key's shared value once a majority of the replicas have it.
func (c *Cluster) Put(ctx context.Context, key string, data []byte) error {
	ek, err := encodeKey(key)
	if err != nil {
		return fmt.Errorf("storing shared state: %w", err)
	}
	if err := c.waitReady(ctx); err != nil {
		return fmt.Errorf("storing shared state %s: %w", key, err)
	}
	if _, err := c.state.Put(ctx, ek, data); err != nil {
		return fmt.Errorf("storing shared state %s: %w", key, err)
	}
	return nil
}

// Watch calls handle with every key starting with prefix ("" for all) as
// it is now, then with each later Put, until ctx ends; it returns once the
// current values were handed over. handle is called from one goroutine, in
// the order of the Puts; but the bucket keeps one value per key, so a value
// overwritten before the watch read it is skipped: a watcher always ends
// with each key's latest value, not with every value it had. Deletions are
// not passed on: the hub never deletes shared state.
func (c *Cluster) Watch(ctx context.Context, prefix string, handle func(key string, data []byte)) error {
	if err := c.waitReady(ctx); err != nil {
		return fmt.Errorf("watching shared state %s: %w", prefix, err)
	}
	// Every key is watched and the prefix applied here: the state is
	// small, and a string prefix does not always map to a subject filter.
	w, err := c.state.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("watching shared state %s: %w", prefix, err)
	}
	deliver := func(e jetstream.KeyValueEntry) {
		key, err := decodeKey(e.Key())
		if err != nil {
			c.log.Debug("cluster: skipping a shared state key not written by a hub", "key", e.Key())
			return
		}
		if strings.HasPrefix(key, prefix) {
			handle(key, e.Value())
		}
	}
	for initial := true; initial; {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watching shared state %s: the watch ended", prefix)
			}
			if e == nil { // the current values are all in
				initial = false
				break
			}
			deliver(e)
		case <-ctx.Done():
			_ = w.Stop()
			return fmt.Errorf("watching shared state %s: %w", prefix, ctx.Err())
		}
	}
	// Not in c.wg: it may start as Close waits, and it ends with the
	// connection anyway.
	go func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					deliver(e)
				}
			case <-ctx.Done():
				return
			case <-c.ctx.Done():
				return
			}
		}
	}()
	return nil
}
