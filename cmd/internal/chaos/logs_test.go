package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ── logs ──

// agentLog is an agent's logger: it counts connections to the hub (the
// agent logs one line per connection after a disconnect) and keeps their
// times, to tell how soon an agent cut off by a restart was back.
type agentLog struct {
	connects atomic.Int64
	mu       sync.Mutex
	times    []time.Time
}

func (l *agentLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *agentLog) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "connected to the hub as ") {
		l.connects.Add(1)
		l.mu.Lock()
		l.times = append(l.times, time.Now())
		l.mu.Unlock()
	}
	return nil
}

// connectedAfter is the agent's first connection after t; zero if none.
func (l *agentLog) connectedAfter(t time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, at := range l.times {
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}
func (l *agentLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *agentLog) WithGroup(string) slog.Handler      { return l }

// hubLog counts the hub's log lines by message, at Info and above, and
// keeps a few sample errors of each warning.
type hubLog struct {
	mu      sync.Mutex
	counts  map[string]int
	samples map[string][]string
}

func (l *hubLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l *hubLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts, l.samples = map[string]int{}, map[string][]string{}
	}
	k := r.Level.String() + " " + r.Message
	l.counts[k]++
	if r.Level >= slog.LevelWarn && len(l.samples[k]) < 3 {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" && !slices.Contains(l.samples[k], a.Value.String()) {
				l.samples[k] = append(l.samples[k], a.Value.String())
			}
			return true
		})
	}
	return nil
}
func (l *hubLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *hubLog) WithGroup(string) slog.Handler      { return l }

func (l *hubLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make([]string, 0, len(l.counts))
	for k := range l.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return l.counts[keys[i]] > l.counts[keys[j]] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		p := fmt.Sprintf("%q ×%d", k, l.counts[k])
		if len(l.samples[k]) > 0 {
			p += " (e.g. " + strings.Join(l.samples[k], "; ") + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}
