package hub

import (
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

// GuardListener wraps the hub's listener so that running out of file
// descriptors (EMFILE, ENFILE) or buffers backs off instead of spinning, and
// is logged once per streak with how long it lasted rather than once per
// retry. net/http's own back-off logs every failed accept, up to one line a
// second for as long as the condition lasts.
func GuardListener(ln net.Listener, c clock.Clock, log *slog.Logger) net.Listener {
	if c == nil {
		c = clock.Real{}
	}
	return &guardedListener{Listener: ln, clock: c, log: log}
}

type guardedListener struct {
	net.Listener
	clock clock.Clock
	log   *slog.Logger
}

const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

func (l *guardedListener) Accept() (net.Conn, error) {
	var delay time.Duration
	var failures int
	var since time.Time
	for {
		conn, err := l.Listener.Accept()
		if err == nil {
			if failures > 0 {
				l.log.Info("accepting connections again", "failed_accepts", failures,
					"for", l.clock.Now().Sub(since).Round(time.Millisecond))
			}
			return conn, nil
		}
		if !exhausted(err) {
			return nil, err
		}
		if failures == 0 {
			since = l.clock.Now()
			l.log.Warn("cannot accept connections: out of file descriptors or buffers; backing off "+
				"(raise the descriptor limit, e.g. LimitNOFILE, or lower limits.sessions_per_staff)", "err", err)
		}
		failures++
		delay = min(max(delay*2, acceptBackoffMin), acceptBackoffMax)
		t := l.clock.NewTimer(delay)
		<-t.C()
	}
}

// exhausted reports a resource shortage that passes by itself.
func exhausted(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
