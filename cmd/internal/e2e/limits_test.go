package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/omnitray/omnitray/sync/feed"
)

// One valid token opening 2,000 websockets used to have them all accepted;
// under a 256-descriptor limit the hub then logged "too many open files"
// every second and nobody else could connect. Now the hub keeps at most
// sessions_per_staff (8) of them, closing the oldest, and other employees
// are served as before. The hub runs under prlimit with 256 descriptors.
func TestOneTokenCannotExhaustTheHub(t *testing.T) {
	s := startStackWith(t, func(s *stack) { s.hubWrap = []string{"prlimit", "--nofile=256:256"} })
	anna := s.token(staffAnna)
	u, err := feed.WebsocketURL(s.hubURL, false)
	if err != nil {
		t.Fatal(err)
	}
	const total, workers = 2000, 16
	var next, opened, replaced, ended atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []*websocket.Conn
	defer func() {
		mu.Lock()
		for _, ws := range conns {
			ws.Close() // ends the readers still waiting
		}
		mu.Unlock()
		wg.Wait()
	}()
	dialer := websocket.Dialer{HandshakeTimeout: guard}
	// Without the cap, dials hang once the hub is out of descriptors: the
	// workers give up at the deadline and the count below fails the test.
	deadline := time.Now().Add(3 * guard)
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= total && time.Now().Before(deadline) {
				ws, _, err := dialer.Dial(u, http.Header{"Authorization": {"Bearer " + anna}})
				if err != nil {
					continue // counted below: opened must still be (nearly) all
				}
				opened.Add(1)
				mu.Lock()
				conns = append(conns, ws)
				mu.Unlock()
				// Hold it open until the hub closes it, as an attacker would.
				wg.Go(func() {
					defer ws.Close()
					_ = ws.SetReadDeadline(time.Now().Add(2 * guard))
					for {
						_, _, err := ws.ReadMessage()
						if websocket.IsCloseError(err, feed.CloseTooManySessions) {
							replaced.Add(1)
						}
						if err != nil {
							ended.Add(1)
							return
						}
					}
				})
			}
		})
	}
	// Meanwhile, and after, another employee connects and is served.
	boris := dialFeed(t, s.hubURL, s.token(staffBoris))
	boris.waitConnected()
	waitFor(t, "the dials to be made", func() bool { return next.Load() > total+workers-1 || time.Now().After(deadline) })
	if got := opened.Load(); got < total*99/100 {
		t.Fatalf("only %d of %d connections with one token were accepted", got, total)
	}
	waitFor(t, "the hub to close all but Anna's newest 8", func() bool { return ended.Load() >= opened.Load()-8 })
	// Nearly all say why; a close frame can be lost when the socket goes
	// down right behind it.
	if r, e := replaced.Load(), ended.Load(); r < e*99/100 {
		t.Fatalf("%d of %d closed connections carried close code %d", r, e, feed.CloseTooManySessions)
	}
	if n := healthAgents(t, s.hubURL); n > 8+1 {
		t.Fatalf("/healthz counts %d agents; at most Anna's 8 and Boris", n)
	}
	if fds := openFiles(t, s.hub.cmd.Process.Pid); fds > 64 {
		t.Fatalf("the hub holds %d descriptors after the flood", fds)
	}
	// Boris is still served: a status change reaches him.
	carol := dialFeed(t, s.hubURL, s.token(staffChen))
	carol.waitConnected()
	s.setStaffStatus(staffBoris, statusChatDuty)
	boris.waitEvent("Boris's new status after the flood", func(ev feed.Event) bool {
		if ev.Kind != feed.Message || ev.Env.Type != feed.TypeStatus {
			return false
		}
		ch, _ := feed.DecodeData[feed.StatusChange](ev.Env)
		return ch.StatusID == statusChatDuty
	})
	if n := strings.Count(s.hub.stderr.String(), "too many open files"); n > 3 {
		t.Fatalf("the hub logged running out of descriptors %d times", n)
	}
	if n := strings.Count(s.hub.stderr.String(), "over limits.sessions_per_staff"); n > 2 {
		t.Fatalf("the hub logged the session limit %d times for one employee in a minute", n)
	}
}

func healthAgents(t testing.TB, hubURL string) int {
	t.Helper()
	resp, err := httpc.Get(hubURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct{ Agents int }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h.Agents
}

func openFiles(t testing.TB, pid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
