package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// Twenty hostile connections loop switch_status, each sending the next as
// soon as the last is answered, while another employee's status changes in
// Omnidesk. That change reaches the employee's agent within one poll cycle
// and one switch's slot, and the hub never spends beyond its share. (Before
// the fix, one such loop held every poll back: 33 s for a change to show.)
// The switch limit is raised here so that the pacer alone is under test.
func TestSwitchFloodDoesNotDelayOthers(t *testing.T) {
	const budget = 240 // 25 %: one unit a second, a switch every 2 s
	s := startStack(t, clock.Real{}, budget, `{"min_poll_interval": "100ms", "chats": {"enabled": false},
		"limits": {"sessions_per_staff": 20, "switches_per_minute": 600, "requests_per_minute": 60000, "request_burst": 1000}}`)
	boris := connect(t, s, sandbox.SeedStaffBoris)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i := range 20 {
		// Two employees, ten connections each: two switches always queued.
		staff := []int64{sandbox.SeedStaffAnna, sandbox.SeedStaffChen}[i%2]
		hostile := connect(t, s, staff)
		wg.Go(func() {
			want := []int64{sandbox.StatusOnline, sandbox.StatusWithoutChats}
			for n := 0; ctx.Err() == nil; n++ {
				_, err := hostile.c.Request(ctx, feed.TypeSwitchStatus, feed.SwitchStatus{StatusID: want[n%2]})
				var re *feed.RemoteError
				if errors.As(err, &re) && re.Code == feed.CodeRateLimited {
					// One switch per employee at a time: the others wait
					// their turn, as the hub tells them.
					select {
					case <-ctx.Done():
					case <-time.After(max(re.RetryAfter, 10*time.Millisecond)):
					}
				}
			}
		})
	}
	waitFor(t, "the switch flood to reach Omnidesk", func() bool {
		return countCalls(s.sb.Calls("omnidesk", 0), "PUT", time.Time{}) >= 3
	})

	changed := time.Now()
	if err := s.sb.SetStaffStatus(sandbox.SeedStaffBoris, sandbox.StatusLunch); err != nil {
		t.Fatal(err)
	}
	boris.waitStatus(sandbox.StatusLunch)
	took := time.Since(changed)
	cancel()

	calls := s.sb.Calls("omnidesk", 0)
	// Order, not time, is the proof: once Boris's status changed, at most
	// one switch went before the poll that saw it.
	var puts int
	for _, c := range calls {
		if c.At.Before(changed) {
			continue
		}
		if c.Method == "GET" && strings.HasPrefix(c.Path, "/api/staff.json") {
			break
		}
		if c.Method == "PUT" {
			puts++
		}
	}
	if puts > 1 {
		t.Errorf("%d switches went to Omnidesk before the poll that saw Boris's change", puts)
	}
	// One poll cycle (1 s) plus one switch slot (2 s), and room for a
	// loaded machine; the starved poller took 33 s.
	if took > 8*time.Second {
		t.Errorf("Boris's change took %v to reach his agent", took)
	}
	if got := maxUnitsInAMinute(calls); got > budget/4 {
		t.Errorf("the hub spent %d units in a minute; its share is %d", got, budget/4)
	}
	t.Logf("change reached the agent in %v; %d switches and %d calls in all", took,
		countCalls(calls, "PUT", time.Time{}), len(calls))
}

func countCalls(calls []sandbox.Call, method string, after time.Time) int {
	n := 0
	for _, c := range calls {
		if c.Method == method && c.At.After(after) {
			n++
		}
	}
	return n
}

// maxUnitsInAMinute is the most Omnidesk budget any 60 s window held.
func maxUnitsInAMinute(calls []sandbox.Call) int {
	best := 0
	for i, c := range calls {
		sum := 0
		for _, d := range calls[i:] {
			if d.At.Sub(c.At) >= time.Minute {
				break
			}
			sum += max(d.Cost, 1)
		}
		best = max(best, sum)
	}
	return best
}

// dialRaw opens a bare websocket as staff, to see close frames the feed
// client would turn into reconnects.
func dialRaw(t *testing.T, hubURL string, staff int64) *websocket.Conn {
	t.Helper()
	tok, err := hub.Sign(testSecret, staff, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := feed.WebsocketURL(hubURL, false)
	var ws *websocket.Conn
	waitFor(t, "the hub to take a connection", func() bool {
		// Refused with 503 until the hub's first poll is in.
		ws, _, err = websocket.DefaultDialer.Dial(u, http.Header{"Authorization": {"Bearer " + tok}})
		return err == nil
	})
	t.Cleanup(func() { ws.Close() })
	return ws
}

// closeCode reads until the hub closes ws and returns the close code (0 if
// the connection is still open after the guard; generous, for a loaded machine).
func closeCode(ws *websocket.Conn) int {
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			return 0
		}
	}
}

// One employee's connections beyond sessions_per_staff close the oldest,
// with a close code the agent knows; other employees are untouched.
func TestSessionCapClosesTheOldest(t *testing.T) {
	s := startStack(t, clock.Real{}, 1_000_000, `{"min_poll_interval": "100ms", "chats": {"enabled": false},
		"limits": {"sessions_per_staff": 3}}`)
	boris := dialRaw(t, s.hubURL, sandbox.SeedStaffBoris)
	var anna []*websocket.Conn
	for range 5 {
		anna = append(anna, dialRaw(t, s.hubURL, sandbox.SeedStaffAnna))
	}
	for i, ws := range anna[:2] {
		if code := closeCode(ws); code != feed.CloseTooManySessions {
			t.Fatalf("Anna's connection %d: close code %d, want %d", i+1, code, feed.CloseTooManySessions)
		}
	}
	waitFor(t, "four agents at the hub (Anna's newest three and Boris)", func() bool {
		return healthAgents(t, s.hubURL) == 4
	})
	for i, ws := range append(anna[2:], boris) {
		_ = ws.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		for {
			_, _, err := ws.ReadMessage()
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				break // still open
			}
			if err != nil {
				t.Fatalf("connection %d closed: %v", i, err)
			}
		}
	}
}

// A connection's requests beyond its budget are answered rate_limited with
// a retry time and never reach Chaport (one employee sent 10,000 frames in
// 10 s and the hub made 10,077 Chaport calls).
func TestRequestBudgetSparesChaport(t *testing.T) {
	s := startStack(t, clock.Real{}, 1_000_000, `{"min_poll_interval": "100ms", "chats": {"enabled": false},
		"limits": {"requests_per_minute": 60, "request_burst": 5}}`)
	anna := connect(t, s, sandbox.SeedStaffAnna)
	before := len(s.sb.Calls("chaport", 0))
	start := time.Now()
	limited := 0
	for range 300 {
		_, err := anna.request(feed.TypeReadOperator, nil)
		var re *feed.RemoteError
		if errors.As(err, &re) && re.Code == feed.CodeRateLimited {
			if re.RetryAfter <= 0 || re.RetryAfter > 2*time.Second {
				t.Fatalf("rate_limited with retry %v", re.RetryAfter)
			}
			limited++
		}
	}
	elapsed := time.Since(start)
	reads := 0
	for _, c := range s.sb.Calls("chaport", before) {
		if c.Method == "GET" && strings.HasPrefix(c.Path, "/api/v1/operators/") {
			reads++
		}
	}
	// The burst, one a second after it, and one for rounding.
	if allowed := 5 + int(elapsed.Seconds()) + 1; reads > allowed {
		t.Fatalf("%d Chaport reads in %v; the budget allows %d", reads, elapsed, allowed)
	}
	if limited < 300-reads-1 {
		t.Fatalf("only %d of 300 requests were refused, %d reached Chaport", limited, reads)
	}
}

// healthAgents is the number of agents /healthz reports.
func healthAgents(t *testing.T, hubURL string) int {
	t.Helper()
	resp, err := http.Get(hubURL + "/healthz")
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
