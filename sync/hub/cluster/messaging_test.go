package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/omnitray/omnitray/sync/hub"
)

// One cluster serves the messaging and shared state subtests: forming one
// takes seconds, and none of them disturbs it.
func TestMessagingAndState(t *testing.T) {
	cs := startAll(t, clusterOptions(t, 3))
	t.Run("PublishSubscribe", func(t *testing.T) { testPublishSubscribe(t, cs) })
	t.Run("Request", func(t *testing.T) { testRequest(t, cs) })
	t.Run("State", func(t *testing.T) { testState(t, cs) })
}

// received collects what one subscriber was handed.
type received struct {
	mu   sync.Mutex
	msgs []string
}

func (r *received) add(data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, string(data))
}

func (r *received) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

func testPublishSubscribe(t *testing.T, cs []*Cluster) {
	got := make([]*received, len(cs))
	for i, c := range cs {
		got[i] = &received{}
		if err := c.Subscribe(t.Context(), "budget", got[i].add); err != nil {
			t.Fatal(err)
		}
	}
	// The others' servers learn of the subscriptions a moment after
	// Subscribe returns: publish until a probe from node 0 reaches both.
	waitFor(t, "the subscriptions to spread", func() bool {
		if err := cs[0].Publish("budget", []byte("probe")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		return slices.Contains(got[1].get(), "probe") && slices.Contains(got[2].get(), "probe")
	})
	var want []string
	for i := range 200 {
		want = append(want, strconv.Itoa(i))
		if err := cs[0].Publish("budget", []byte(want[i])); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs[1].Publish("budget", []byte("from 1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the messages", func() bool {
		return slices.Contains(got[2].get(), "199") && slices.Contains(got[2].get(), "from 1") &&
			slices.Contains(got[1].get(), "199") && slices.Contains(got[0].get(), "from 1")
	})
	for i := 1; i <= 2; i++ {
		var fromZero []string
		for _, m := range got[i].get() {
			if m != "probe" && m != "from 1" {
				fromZero = append(fromZero, m)
			}
		}
		if !slices.Equal(fromZero, want) {
			t.Errorf("node %d got node 0's messages out of order or not all: %v", i, fromZero)
		}
	}
	if slices.Contains(got[1].get(), "from 1") {
		t.Error("node 1 was handed its own message")
	}
	if g := got[0].get(); !slices.Equal(g, []string{"from 1"}) {
		t.Errorf("node 0 got %d messages, want only node 1's (its own are skipped): %.5q", len(g), g)
	}

	// A subscription ends with its context.
	ctx, cancel := context.WithCancel(t.Context())
	late := &received{}
	if err := cs[1].Subscribe(ctx, "pins", late.add); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pins subscription", func() bool {
		_ = cs[0].Publish("pins", []byte("before"))
		time.Sleep(50 * time.Millisecond)
		return len(late.get()) > 0
	})
	cancel()
	n := len(late.get())
	time.Sleep(100 * time.Millisecond) // a handler already running may finish
	n = max(n, len(late.get()))
	for range 5 {
		_ = cs[0].Publish("pins", []byte("after"))
	}
	// Probed the other way: a message that did arrive would have come
	// before this subscriber's own marker is delivered to a fresh one.
	marker := &received{}
	if err := cs[1].Subscribe(t.Context(), "pins", marker.add); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a fresh pins subscription", func() bool {
		_ = cs[0].Publish("pins", []byte("marker"))
		time.Sleep(50 * time.Millisecond)
		return slices.Contains(marker.get(), "marker")
	})
	if len(late.get()) != n {
		t.Errorf("a subscription went on after its context ended: %q", late.get())
	}

	if err := cs[0].Publish("a.*", nil); err == nil {
		t.Error("a wildcard subject was published to")
	}
}

func testRequest(t *testing.T, cs []*Cluster) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var seen []string
	err := cs[2].Serve(ctx, "leader.switch", func(_ context.Context, data []byte) []byte {
		mu.Lock()
		seen = append(seen, string(data))
		mu.Unlock()
		return []byte("done by " + cs[2].Node() + ": " + string(data))
	})
	if err != nil {
		t.Fatal(err)
	}
	var answer []byte
	waitFor(t, "the server to be reachable", func() bool {
		rctx, rcancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer rcancel()
		answer, err = cs[0].Request(rctx, "leader.switch", []byte("staff 201"))
		if errors.Is(err, hub.ErrNoResponder) {
			return false // the subscription has not reached node 0's server yet
		}
		if err != nil {
			t.Fatal(err)
		}
		return true
	})
	if want := "done by node-2: staff 201"; string(answer) != want {
		t.Errorf("answer %q, want %q", answer, want)
	}
	// The serving replica asks itself too.
	rctx, rcancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer rcancel()
	if answer, err := cs[2].Request(rctx, "leader.switch", []byte("self")); err != nil || !bytes.HasSuffix(answer, []byte("self")) {
		t.Errorf("a request to oneself: %q, %v", answer, err)
	}
	if _, err := cs[1].Request(rctx, "nobody.serves", nil); !errors.Is(err, hub.ErrNoResponder) {
		t.Errorf("a request nobody serves: %v, want ErrNoResponder", err)
	}
	// Serving ends with its context.
	cancel()
	// A request sent before the others' servers hear of it goes
	// unanswered until its deadline, hence the short one.
	waitFor(t, "the server to go", func() bool {
		rctx, rcancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer rcancel()
		_, err := cs[0].Request(rctx, "leader.switch", nil)
		return errors.Is(err, hub.ErrNoResponder)
	})
}

func testState(t *testing.T, cs []*Cluster) {
	ctx := t.Context()
	if _, err := cs[0].Get(ctx, "budget"); !errors.Is(err, hub.ErrNoState) {
		t.Fatalf("Get of a key never put: %v, want ErrNoState", err)
	}
	if err := cs[0].Put(ctx, "revocations.node-a", []byte("a1")); err != nil {
		t.Fatal(err)
	}
	if err := cs[0].Put(ctx, "budget", []byte("b1")); err != nil {
		t.Fatal(err)
	}
	// Get reads any replica, which may be a write behind.
	waitFor(t, "the put to reach node 1", func() bool {
		v, err := cs[1].Get(ctx, "budget")
		return err == nil && string(v) == "b1"
	})
	odd := "odd key/with spaces..and ünïcode."
	if err := cs[1].Put(ctx, odd, []byte("odd")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the odd key", func() bool {
		v, err := cs[2].Get(ctx, odd)
		return err == nil && string(v) == "odd"
	})

	type kv struct{ k, v string }
	var mu sync.Mutex
	var watched []kv
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := cs[2].Watch(wctx, "revocations.", func(k string, v []byte) {
		mu.Lock()
		defer mu.Unlock()
		watched = append(watched, kv{k, string(v)})
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	initial := slices.Clone(watched)
	mu.Unlock()
	if !slices.Equal(initial, []kv{{"revocations.node-a", "a1"}}) {
		t.Errorf("Watch returned with %v, want the current revocations", initial)
	}
	for i := range 3 {
		if err := cs[0].Put(ctx, "revocations.node-b", []byte("b"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs[1].Put(ctx, "budget", []byte("b2")); err != nil {
		t.Fatal(err)
	}
	if err := cs[1].Put(ctx, "revocations.node-c", []byte("c0")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watch", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(watched) > 0 && watched[len(watched)-1] == kv{"revocations.node-c", "c0"}
	})
	waitFor(t, "node-b's last value", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(watched, kv{"revocations.node-b", "b2"})
	})
	// The bucket keeps one value per key: one overwritten before the
	// watcher read it is skipped. What is seen is in order, and ends with
	// each key's last value.
	mu.Lock()
	puts := []kv{{"revocations.node-a", "a1"}, {"revocations.node-b", "b0"}, {"revocations.node-b", "b1"},
		{"revocations.node-b", "b2"}, {"revocations.node-c", "c0"}}
	var b []string
	for _, w := range watched {
		if w.k == "revocations.node-b" {
			b = append(b, w.v)
		}
	}
	if !isSubsequence(watched, puts) || b[len(b)-1] != "b2" {
		t.Errorf("watched %v, want in the order of %v, with the last values", watched, puts)
	}
	mu.Unlock()
}

func isSubsequence[T comparable](sub, of []T) bool {
	i := 0
	for _, x := range of {
		if i < len(sub) && sub[i] == x {
			i++
		}
	}
	return i == len(sub)
}

func TestKeyEncoding(t *testing.T) {
	for _, k := range []string{"budget", "pins", "revocations.node-a", "a/b_c-D9"} {
		if e, err := encodeKey(k); err != nil || e != k {
			t.Errorf("encodeKey(%q) = %q, %v; want it unchanged", k, e, err)
		}
	}
	for _, k := range []string{".lead", "trail.", "a..b", "a...b", "x=y", "with space", "ünï", "*", ">", "a.*.b", "="} {
		e, err := encodeKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if !validKVKey(e) {
			t.Errorf("encodeKey(%q) = %q, which KV refuses", k, e)
		}
		if d, err := decodeKey(e); err != nil || d != k {
			t.Errorf("decodeKey(encodeKey(%q)) = %q, %v", k, d, err)
		}
	}
	if _, err := encodeKey(""); err == nil {
		t.Error("the empty key was encoded")
	}
	for _, bad := range []string{"a=", "a=4", "a=ZZ"} {
		if _, err := decodeKey(bad); err == nil {
			t.Errorf("decodeKey(%q) succeeded", bad)
		}
	}
}

// validKVKey is nats.go's check of a key.
func validKVKey(k string) bool {
	if k == "" || k[0] == '.' || k[len(k)-1] == '.' || bytes.Contains([]byte(k), []byte("..")) {
		return false
	}
	for _, ch := range []byte(k) {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			bytes.IndexByte([]byte("-/_=."), ch) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// External mode: replicas are clients of a NATS server run elsewhere (here
// a plain one with JetStream, in this process).
func TestExternalMode(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(patience) {
		t.Fatal("NATS server not ready")
	}
	var opts []Options
	for i := range 2 {
		opts = append(opts, Options{NodeName: fmt.Sprintf("ext-%d", i), NATSURL: []string{srv.ClientURL()},
			Logger: testLogger()})
	}
	cs := startAll(t, opts)
	var log eventLog
	leadRecording(t, cs, &log)
	waitFor(t, "a leader", func() bool { return len(leaders(cs)) == 1 })
	if err := cs[0].Put(t.Context(), "pins", []byte("p")); err != nil {
		t.Fatal(err)
	}
	if v, err := cs[1].Get(t.Context(), "pins"); err != nil || string(v) != "p" {
		t.Errorf("Get across replicas: %q, %v", v, err)
	}
	waitFor(t, "the replicas to see each other", func() bool {
		return cs[0].Health().ClusterSize == 2 && cs[1].Health().ClusterSize == 2
	})
	first := leaders(cs)[0]
	first.Close()
	rest := without(cs, first)
	waitFor(t, "the other to lead", func() bool { return len(leaders(rest)) == 1 })

	if _, err := Start(t.Context(), Options{NodeName: "x", NATSURL: []string{srv.ClientURL()},
		ClusterListen: "127.0.0.1:0", ClusterPeers: []string{"127.0.0.1:1"}}); err == nil {
		t.Error("external and embedded mode were accepted together")
	}
}
