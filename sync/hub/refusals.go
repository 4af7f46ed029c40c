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

// minuteLog writes an event to the log at most once per key (a source
// address, a staff member) and minute, with how many happened since the
// key's last line: the log's volume must not be anyone's to grow, neither
// by refused handshakes nor by one token's connections.
type minuteLog struct {
	clock clock.Clock
	log   *slog.Logger

	mu      sync.Mutex
	sources map[string]*refusalWindow
}

type refusalWindow struct {
	start   time.Time
	unshown int // events since the last line
}

func newMinuteLog(c clock.Clock, log *slog.Logger) *minuteLog {
	return &minuteLog{clock: c, log: log, sources: map[string]*refusalWindow{}}
}

// note records one refused handshake from remote (host:port) for reason.
func (l *minuteLog) note(remote, reason string) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	l.event(host, "agent token refused", "remote", host, "reason", reason)
}

// event logs msg with attrs, unless key had a line less than a minute ago.
func (l *minuteLog) event(key, msg string, attrs ...any) {
	now := l.clock.Now()
	l.mu.Lock()
	w, ok := l.sources[key]
	if !ok && len(l.sources) >= maxRefusalSources {
		for h, old := range l.sources {
			if now.Sub(old.start) >= time.Minute {
				delete(l.sources, h)
			}
		}
		if len(l.sources) >= maxRefusalSources {
			key = "other sources"
			w, ok = l.sources[key]
		}
	}
	if !ok {
		w = &refusalWindow{}
		l.sources[key] = w
	}
	if !w.start.IsZero() && now.Sub(w.start) < time.Minute {
		w.unshown++
		l.mu.Unlock()
		return
	}
	before := w.unshown
	w.start, w.unshown = now, 0
	l.mu.Unlock()
	l.log.Warn(msg, append(attrs, "times_since_last_line", before)...)
}
