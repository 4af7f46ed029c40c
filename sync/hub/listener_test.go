package hub

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
)

// emfileListener fails its first n accepts as a process out of descriptors
// does, then hands out one end of a pipe.
type emfileListener struct {
	mu sync.Mutex
	n  int
	net.Listener
}

func (l *emfileListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		l.n--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	c, _ := net.Pipe()
	return c, nil
}

// Out of descriptors, the hub backs off (5 ms doubling to 1 s) instead of
// spinning, and logs the streak twice: when it starts and when it ends.
func TestAcceptBacksOffWhenOutOfDescriptors(t *testing.T) {
	start := time.Unix(1000, 0)
	fc := clock.NewFake(start)
	var buf bytes.Buffer
	ln := GuardListener(&emfileListener{n: 30}, fc, slog.New(slog.NewTextHandler(&buf, nil)))
	done := make(chan net.Conn)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		done <- c
	}()
	var waits []time.Duration
	for {
		select {
		case c := <-done:
			c.Close()
			if len(waits) != 30 {
				t.Fatalf("%d back-offs for 30 failed accepts", len(waits))
			}
			for i, w := range waits {
				want := min(acceptBackoffMin<<i, acceptBackoffMax)
				if w != want {
					t.Fatalf("back-off %d was %v, want %v (all: %v)", i, w, want, waits)
				}
			}
			if lines := strings.Count(buf.String(), "\n"); lines != 2 {
				t.Fatalf("%d log lines for one streak of 30 failures:\n%s", lines, buf.String())
			}
			if !strings.Contains(buf.String(), "too many open files") || !strings.Contains(buf.String(), "failed_accepts=30") {
				t.Fatalf("log does not name the cause and the count:\n%s", buf.String())
			}
			return
		case <-time.After(time.Millisecond):
			before := fc.Now()
			if fc.AdvanceToNext() {
				waits = append(waits, fc.Now().Sub(before))
			}
		}
	}
}
