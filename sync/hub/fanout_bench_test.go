//go:build linux

package hub_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/omnitray/omnitray/internal/syncbuf"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// The fan-out benchmark runs the hub (with its sandbox) in the benchmark
// process and the 5,000 agents in a child process, the same test binary run
// again with fanoutChildEnv set, so that the hub's memory can be read from
// this process alone. They talk over two pipes (the child's fd 3 and 4).
const (
	fanoutAgents   = 5000
	fanoutChildEnv = "OMNITRAY_BENCH_FANOUT_HUB" // the hub URL; set only in the child
	// fanoutProfileEnv names a file for a heap profile of the hub process
	// taken with all agents connected: what each connection costs, by site.
	fanoutProfileEnv = "OMNITRAY_BENCH_FANOUT_HEAPPROFILE"
	// fanoutDialers is how many handshakes the child has in flight at once.
	fanoutDialers = 64
	// fanoutBatch is how many employees change status in one iteration.
	fanoutBatch = 10
	// fanoutConfig: the hub polls as fast as it may (budget huge, 1 ms
	// between Omnidesk calls) and the chat watcher is off.
	fanoutConfig = `{"min_poll_interval": "1ms", "budget_share": 1, "chats": {"enabled": false}}`
)

// BenchmarkHubFanout5000 connects 5,000 agents (feed clients, each with its
// own token for its own employee: the sandbox's three plus 4,997 added with
// AddStaff) over loopback to one hub. Each iteration waits a random part of
// the hub's poll cycle (untimed, so changes land at any point of it), then
// changes the Omnidesk status of 10 employees at random in the sandbox and
// times, for each, the moment its agent has the "status" message in hand:
//
//   - hub-p50/p99-ms, the fan-out the 50 ms budget is about: from the
//     start of the hub's request for the page of the staff list that
//     showed the change (the last request for that page before the agent
//     had it, from the sandbox's call log) to the agent: reading and
//     decoding the page, diffing, finding the right agent among 5,000,
//     pushing, websocket. This assumes the hub pushes a page's changes as
//     soon as it has read it.
//   - p50/p99/max-ms: from the change applied in the sandbox to the agent,
//     so the wait for the hub to read that employee's page again is
//     included: that is the poll cycle (poll-cycle-ms; 5,000 staff are 50
//     pages of 100, each a paced call at least min_poll_interval apart),
//     which in production the Omnidesk rate limit sets, not the hub.
//
// ns/op is the time until all 10 agents have their change. Also reported:
// the hub process's RSS, heap and stack growth per connected agent (the
// agents live in the child process), the status messages that reached any
// other agent (misrouted, must be 0), and how long the hub's threads waited
// for a CPU per second of the run (hub-cpu-wait-ms/s: how much other
// processes on the machine got in the way).
func BenchmarkHubFanout5000(b *testing.B) {
	benchFanout(b, "^BenchmarkHubFanout5000$", func(ctx context.Context, sb *sandbox.Sandbox) ([]string, func()) {
		url, stop := fanoutHub(b, ctx, sb)
		return []string{url}, stop
	})
}

// benchFanout is the fan-out benchmark on the hubs startHubs runs on the
// sandbox (several replicas: the agents are spread over them in turn);
// name selects the benchmark again in the child process.
func benchFanout(b *testing.B, name string, startHubs func(context.Context, *sandbox.Sandbox) ([]string, func())) {
	if u := os.Getenv(fanoutChildEnv); u != "" {
		fanoutChild(b, strings.Split(u, ","))
		return
	}
	fanoutRaiseNoFile(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := sandbox.New(sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 100_000_000}})
	sb.AddStaff(fanoutAgents - 3)
	var roster []int64
	status := map[int64]int64{}
	for _, s := range sb.State().Staff {
		roster = append(roster, s.ID)
		status[s.ID] = s.StatusID
	}
	if len(roster) != fanoutAgents {
		b.Fatalf("the sandbox has %d staff, want %d", len(roster), fanoutAgents)
	}
	hubURLs, closeHubs := startHubs(ctx, sb)
	defer closeHubs()

	before := fanoutHubMemory(b)
	child, cmds, results := startFanoutChild(b, name, hubURLs)
	defer func() {
		_ = cmds.Close() // EOF tells the child to stop
		done := make(chan struct{})
		go func() { _ = child.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = child.Process.Kill()
			<-done
		}
	}()
	fmt.Fprintf(cmds, "staff %s\n", fanoutJoinIDs(roster))
	if line := fanoutReadLine(b, results); line != fmt.Sprintf("ready %d", len(roster)) {
		b.Fatalf("child: %s", line)
	}
	// Let the sessions settle (the snapshot written, every pump parked),
	// then read the hub's share: everything that grew in this process.
	time.Sleep(2 * time.Second)
	after := fanoutHubMemory(b)
	if path := os.Getenv(fanoutProfileEnv); path != "" {
		fanoutHeapProfile(b, path)
	}
	cycle := fanoutPollCycle(b, sb)
	rng := rand.New(rand.NewPCG(1, 2))
	var lat, hubLat []time.Duration
	var misrouted, drops int64
	seq := fanoutLastSeq(sb)
	wait0, wall0 := fanoutCPUWait(), time.Now()
	for b.Loop() {
		b.StopTimer()
		time.Sleep(time.Duration(rng.Int64N(int64(cycle))))
		b.StartTimer()
		flips := make([]string, 0, fanoutBatch)
		picked := rng.Perm(len(roster))[:fanoutBatch]
		start := time.Now()
		for _, i := range picked {
			staff := roster[i]
			next := sandbox.StatusOnline
			if status[staff] == sandbox.StatusOnline {
				next = sandbox.StatusWithoutChats
			}
			status[staff] = next
			if err := sb.SetStaffStatus(staff, next); err != nil {
				b.Fatal(err)
			}
			flips = append(flips, fmt.Sprintf("%d:%d", staff, next))
		}
		fmt.Fprintf(cmds, "wait %s\n", strings.Join(flips, " "))
		f := strings.Fields(fanoutReadLine(b, results))
		if len(f) != 3+len(flips) || f[0] != "done" {
			b.Fatalf("child: %s", strings.Join(f, " "))
		}
		b.StopTimer()
		m, _ := strconv.ParseInt(f[1], 10, 64)
		d, _ := strconv.ParseInt(f[2], 10, 64)
		misrouted, drops = misrouted+m, d
		reads := map[int][]time.Time{} // page → starts of the hub's requests for it
		for _, c := range sb.Calls("omnidesk", seq) {
			seq = max(seq, c.Seq)
			if page := fanoutStaffPage(c); page > 0 {
				reads[page] = append(reads[page], c.At)
			}
		}
		for k, s := range f[3:] {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				b.Fatalf("child sent %q", s)
			}
			at := time.Unix(0, n)
			lat = append(lat, at.Sub(start))
			// The agent's employee is roster[picked[k]], on page
			// picked[k]/100+1; the read that showed the change is the
			// last one of that page before the agent had it.
			read := reads[picked[k]/100+1]
			if i, found := slices.BinarySearchFunc(read, at, time.Time.Compare); i > 0 || found {
				if !found {
					i--
				}
				hubLat = append(hubLat, at.Sub(read[i]))
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	waited, wall := fanoutCPUWait()-wait0, time.Since(wall0)
	slices.Sort(lat)
	slices.Sort(hubLat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(l []time.Duration, p float64) float64 {
		if len(l) == 0 {
			return -1
		}
		return ms(l[min(len(l)-1, int(float64(len(l))*p))])
	}
	b.ReportMetric(pct(lat, 0.50), "p50-ms")
	b.ReportMetric(pct(lat, 0.99), "p99-ms")
	b.ReportMetric(pct(lat, 1), "max-ms")
	b.ReportMetric(pct(hubLat, 0.50), "hub-p50-ms")
	b.ReportMetric(pct(hubLat, 0.99), "hub-p99-ms")
	b.ReportMetric(ms(cycle), "poll-cycle-ms")
	b.ReportMetric(float64(after.rssKB-before.rssKB)/fanoutAgents, "hub-rss-KB/agent")
	b.ReportMetric(float64(after.heap-before.heap)/1024/fanoutAgents, "hub-heap-KB/agent")
	b.ReportMetric(float64(after.stack-before.stack)/1024/fanoutAgents, "hub-stack-KB/agent")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/fanoutAgents, "hub-goroutines/agent")
	if wait0 >= 0 && waited >= 0 {
		b.ReportMetric(float64(waited)/1e6/wall.Seconds(), "hub-cpu-wait-ms/s")
	}
	b.ReportMetric(float64(len(lat)), "deliveries")
	b.ReportMetric(float64(misrouted), "misrouted")
	b.ReportMetric(float64(drops), "reconnects")
	if misrouted > 0 {
		b.Errorf("%d status messages reached agents of other employees", misrouted)
	}
	if testing.Verbose() {
		fmt.Printf("fan-out: %d deliveries (%d with the hub's page read found) p50=%.2fms p99=%.2fms max=%.2fms; "+
			"hub RSS %d → %d kB, heap %d → %d B, stacks %d → %d B\n",
			len(lat), len(hubLat), pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1), before.rssKB, after.rssKB,
			before.heap, after.heap, before.stack, after.stack)
	}
}

func fanoutJoinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, " ")
}

func fanoutLastSeq(sb *sandbox.Sandbox) int {
	seq := 0
	for _, c := range sb.Calls("", 0) {
		seq = max(seq, c.Seq)
	}
	return seq
}

// fanoutPollCycle measures how long one full staff poll takes: the spacing of the
// hub's requests for page 1 over a second.
func fanoutPollCycle(b *testing.B, sb *sandbox.Sandbox) time.Duration {
	seq := fanoutLastSeq(sb)
	time.Sleep(time.Second)
	var starts []time.Time
	for _, c := range sb.Calls("omnidesk", seq) {
		if fanoutStaffPage(c) == 1 {
			starts = append(starts, c.At)
		}
	}
	if len(starts) < 2 {
		b.Fatalf("the hub polled %d times in a second", len(starts))
	}
	return starts[len(starts)-1].Sub(starts[0]) / time.Duration(len(starts)-1)
}

// fanoutHub starts sb and a hub on it (fanoutConfig), and waits until the
// hub has read the staff list once.
func fanoutHub(b *testing.B, ctx context.Context, sb *sandbox.Sandbox) (string, func()) {
	if err := sb.Start(ctx); err != nil {
		b.Fatal(err)
	}
	r := hubtest.Serve(b, ctx, hubtest.New(b, sb, fanoutConfig, nil))
	r.WaitReady(b, 30*time.Second)
	return r.URL, r.Stop
}

// fanoutStaffPage returns the page of the staff list c asked for, or 0
// when c is another call. Pages are 100 staff, in the sandbox's order.
func fanoutStaffPage(c sandbox.Call) int {
	if !strings.HasSuffix(c.Path, "/staff.json") {
		return 0
	}
	q, err := url.ParseQuery(c.Query)
	if err != nil || q.Get("limit") != "100" {
		return 0
	}
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil {
		return 0
	}
	return page
}

func fanoutHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// fanoutCPUWait is how long this process's threads have waited for a CPU
// while runnable (nanoseconds, schedstat), or -1 if the kernel does not
// say: how much other processes got in the way.
func fanoutCPUWait() int64 {
	paths, _ := filepath.Glob("/proc/self/task/*/schedstat")
	if len(paths) == 0 {
		return -1
	}
	var sum int64
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that just ended
		}
		f := strings.Fields(string(data))
		if len(f) < 2 {
			return -1
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return -1
		}
		sum += n
	}
	return sum
}

type fanoutMem struct {
	rssKB      int64
	heap       uint64 // HeapInuse
	stack      uint64 // StackInuse
	goroutines int
}

// fanoutHubMemory reads this process's resident set and Go heap+stack in use
// after a full collection with the freed pages handed back, so that before
// and after compare live memory.
func fanoutHubMemory(b *testing.B) fanoutMem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fanoutMem{rssKB: fanoutProcKB(b, "self", "VmRSS"), heap: ms.HeapInuse, stack: ms.StackInuse,
		goroutines: runtime.NumGoroutine()}
}

// fanoutProcKB reads one "kB" line of /proc/PID/status.
func fanoutProcKB(b *testing.B, pid, key string) int64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return n
				}
			}
		}
	}
	b.Fatalf("no %s in /proc/%s/status", key, pid)
	return 0
}

// fanoutRaiseNoFile lifts the open-file limit to its hard maximum: each side holds
// one socket per agent.
func fanoutRaiseNoFile(b *testing.B) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatal(err)
		}
	}
	if lim.Cur < fanoutAgents+1000 {
		b.Skipf("open-file limit %d is below %d agents plus slack", lim.Cur, fanoutAgents)
	}
}

func startFanoutChild(b *testing.B, name string, hubURLs []string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	resR, resW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	child := exec.Command(exe, "-test.run=^$", "-test.bench="+name, "-test.benchtime=1x")
	child.Env = append(os.Environ(), fanoutChildEnv+"="+strings.Join(hubURLs, ","))
	child.ExtraFiles = []*os.File{cmdR, resW} // fd 3, fd 4
	// The child's own benchmark line must not mix into this one's output.
	out := &syncbuf.Buffer{}
	child.Stdout, child.Stderr = out, out
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	_ = cmdR.Close()
	_ = resW.Close()
	b.Cleanup(func() {
		if b.Failed() {
			b.Logf("fan-out child output:\n%s", out.String())
		}
	})
	return child, cmdW, bufio.NewReader(resR)
}

func fanoutReadLine(b *testing.B, r *bufio.Reader) string {
	line, err := r.ReadString('\n')
	if err != nil {
		b.Fatalf("reading from the fan-out child: %v (partial %q)", err, line)
	}
	return strings.TrimSuffix(line, "\n")
}

// fanAgent is one agent of the child: the last status it was told and when.
type fanAgent struct {
	staff  int64
	status atomic.Int64
	at     atomic.Int64 // UnixNano of the last "status" message
	msgs   atomic.Int64 // "status" messages received
	drops  atomic.Int64 // disconnections
}

func (a *fanAgent) consume(ctx context.Context, events <-chan feed.Event, connected func()) {
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			now := time.Now().UnixNano()
			switch ev.Kind {
			case feed.Connected:
				a.status.Store(ev.Snapshot.StatusID)
				if first {
					first = false
					connected()
				}
			case feed.Message:
				if ev.Env.Type != feed.TypeStatus {
					continue
				}
				ch, err := feed.DecodeData[feed.StatusChange](ev.Env)
				if err != nil {
					continue
				}
				a.at.Store(now) // before the status: the waiter reads them in the other order
				a.status.Store(ch.StatusID)
				a.msgs.Add(1)
			case feed.Disconnected:
				a.drops.Add(1)
			}
		}
	}
}

// fanoutChild is the agents' process. Its first command, "staff ID...",
// starts one agent per employee; it answers "ready N" once all N have
// their snapshot. Each "wait STAFF:STATUS..." it answers with "done
// MISROUTED RECONNECTS T..." once every agent of each STAFF has its STATUS,
// T being their receive times (UnixNano) in the order asked; MISROUTED
// counts the status messages other agents got since the previous answer.
func fanoutChild(b *testing.B, hubURLs []string) {
	cmds, results := os.NewFile(3, "fanout-commands"), os.NewFile(4, "fanout-results")
	fail := func(format string, a ...any) {
		fmt.Fprintf(results, "error "+format+"\n", a...)
		b.Fatalf(format, a...)
	}
	fanoutRaiseNoFile(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var urls []string
	for _, h := range hubURLs {
		u, err := feed.WebsocketURL(h, false)
		if err != nil {
			fail("%v", err)
		}
		urls = append(urls, u)
	}
	in := bufio.NewScanner(cmds)
	in.Buffer(nil, 1<<20)
	if !in.Scan() {
		fail("no staff list: %v", in.Err())
	}
	ids, ok := strings.CutPrefix(in.Text(), "staff ")
	if !ok {
		fail("bad first command %q", in.Text())
	}
	var agents []*fanAgent
	byStaff := map[int64][]int{}
	for f := range strings.FieldsSeq(ids) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			fail("bad staff id %q", f)
		}
		byStaff[id] = append(byStaff[id], len(agents))
		agents = append(agents, &fanAgent{staff: id})
	}
	var up sync.WaitGroup
	up.Add(len(agents))
	dialing := make(chan struct{}, fanoutDialers)
	for i, a := range agents {
		tok, err := hub.Sign(testSecret, a.staff, time.Now(), 24*time.Hour)
		if err != nil {
			fail("%v", err)
		}
		c, err := feed.NewClient(feed.ClientOptions{URL: urls[i%len(urls)], Token: tok})
		if err != nil {
			fail("%v", err)
		}
		events := make(chan feed.Event, 16)
		dialing <- struct{}{}
		go func() { _ = c.Run(ctx, events) }()
		go a.consume(ctx, events, func() { <-dialing; up.Done() })
	}
	allUp := make(chan struct{})
	go func() { up.Wait(); close(allUp) }()
	select {
	case <-allUp:
	case <-time.After(3 * time.Minute):
		fail("not all %d agents connected within 3 minutes", len(agents))
	}
	fmt.Fprintf(results, "ready %d\n", len(agents))

	seen := make([]int64, len(agents)) // status messages per agent at the previous answer
	for in.Scan() {
		args, ok := strings.CutPrefix(in.Text(), "wait ")
		if !ok {
			fail("bad command %q", in.Text())
		}
		var want [][2]int64
		for f := range strings.FieldsSeq(args) {
			var staff, status int64
			if _, err := fmt.Sscanf(f, "%d:%d", &staff, &status); err != nil {
				fail("bad wait %q", f)
			}
			want = append(want, [2]int64{staff, status})
		}
		deadline := time.Now().Add(30 * time.Second)
		for _, w := range want {
			for _, i := range byStaff[w[0]] {
				for agents[i].status.Load() != w[1] {
					if time.Now().After(deadline) {
						fail("status %d of staff %d did not reach its agent in 30 s", w[1], w[0])
					}
					time.Sleep(50 * time.Microsecond)
				}
			}
		}
		flipped := map[int]bool{}
		var line strings.Builder
		var times []string
		for _, w := range want {
			for _, i := range byStaff[w[0]] {
				flipped[i] = true
				times = append(times, strconv.FormatInt(agents[i].at.Load(), 10))
			}
		}
		var misrouted, drops int64
		for i, a := range agents {
			m := a.msgs.Load()
			if !flipped[i] {
				misrouted += m - seen[i]
			}
			seen[i] = m
			drops += a.drops.Load()
		}
		fmt.Fprintf(&line, "done %d %d %s\n", misrouted, drops, strings.Join(times, " "))
		if _, err := io.WriteString(results, line.String()); err != nil {
			fail("%v", err)
		}
	}
	if err := in.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		b.Fatal(err)
	}
}
