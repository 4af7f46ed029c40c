package hub

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

// maxRefusalSources bounds the refusal log's memory: anyone can send
// handshakes from many addresses.
const maxRefusalSources = 4096

// refusalLog writes refused handshakes to the log at most once per source
// address and minute, with how many were refused since the source's last
// line: the log's volume must not be anyone's to grow.
type refusalLog struct {
	clock clock.Clock
	log   *slog.Logger

	mu      sync.Mutex
	sources map[string]*refusalWindow
}

type refusalWindow struct {
	start   time.Time
	unshown int // refusals since the last line
}

func newRefusalLog(c clock.Clock, log *slog.Logger) *refusalLog {
	return &refusalLog{clock: c, log: log, sources: map[string]*refusalWindow{}}
}

// note records one refusal from remote (host:port) for reason.
func (l *refusalLog) note(remote, reason string) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	now := l.clock.Now()
	l.mu.Lock()
	w, ok := l.sources[host]
	if !ok && len(l.sources) >= maxRefusalSources {
		for h, old := range l.sources {
			if now.Sub(old.start) >= time.Minute {
				delete(l.sources, h)
			}
		}
		if len(l.sources) >= maxRefusalSources {
			host = "other sources"
			w, ok = l.sources[host]
		}
	}
	if !ok {
		w = &refusalWindow{}
		l.sources[host] = w
	}
	if !w.start.IsZero() && now.Sub(w.start) < time.Minute {
		w.unshown++
		l.mu.Unlock()
		return
	}
	before := w.unshown
	w.start, w.unshown = now, 0
	l.mu.Unlock()
	l.log.Warn("agent token refused", "remote", host, "reason", reason,
		"refused_since_last_line", before)
}
