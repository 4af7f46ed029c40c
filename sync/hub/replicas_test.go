package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// Two hubs as replicas of one cluster (on the in-process engine): only the
// leader calls Omnidesk; the follower's agents get the leader's news; a
// switch asked on the follower is made by the leader; a new leader carries
// on with the budget the last one left, and the old one is fenced off.
func TestReplicasShareOnePoller(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 240}})
	cl := hubtest.NewCluster()
	start := func(node string) *hubtest.Running {
		return hubtest.Serve(t, ctx, hubtest.New(t, sb, `{"chats": {"enabled": false}, "min_poll_interval": "100ms"}`,
			func(c *hub.Config) { c.Replicas = cl.Replica(node) }))
	}
	a, b := start("a"), start("b")
	cl.Elect("a")
	a.WaitReady(t, 15*time.Second)
	b.WaitReady(t, 15*time.Second) // from a's pages: b never polled
	if n := hub.OmnideskCalls(b.Hub); n != 0 {
		t.Fatalf("the follower made %d Omnidesk calls", n)
	}
	if role := healthRole(t, b.URL); role != hub.RoleFollower {
		t.Fatalf("follower's /healthz role %q", role)
	}

	onB := connect(t, &stack{sb: sb, hubURL: b.URL}, sandbox.SeedStaffBoris)
	if err := sb.SetStaffStatus(sandbox.SeedStaffBoris, sandbox.StatusOffline); err != nil {
		t.Fatal(err)
	}
	onB.waitStatus(sandbox.StatusOffline)

	// A switch asked on the follower goes through the leader's budget.
	aCalls := hub.OmnideskCalls(a.Hub)
	if _, err := onB.request(feed.TypeSwitchStatus, feed.SwitchStatus{StatusID: sandbox.StatusOnline}); err != nil {
		t.Fatalf("switch through the follower: %v", err)
	}
	onB.waitStatus(sandbox.StatusOnline)
	if hub.OmnideskCalls(b.Hub) != 0 || hub.OmnideskCalls(a.Hub) == aCalls {
		t.Fatalf("the switch was not made by the leader (calls a %d→%d, b %d)", aCalls, hub.OmnideskCalls(a.Hub), hub.OmnideskCalls(b.Hub))
	}

	// Failover: b leads with a's budget; a makes no call once fenced.
	cl.Elect("b")
	waitFor(t, "b polling", func() bool { return hub.OmnideskCalls(b.Hub) > 0 })
	if got := hub.PaceInterval(b.Hub); got != time.Second {
		t.Fatalf("the new leader paces at %v, want the learned 1s (240 a minute, 25 %%)", got)
	}
	if err := hub.Fence(a.Hub); !errors.Is(err, hub.ErrNotLeader) {
		t.Fatalf("the old leader's fence: %v", err)
	}
	frozen := hub.OmnideskCalls(a.Hub)
	if err := sb.SetStaffStatus(sandbox.SeedStaffBoris, sandbox.StatusOffline); err != nil {
		t.Fatal(err)
	}
	onB.waitStatus(sandbox.StatusOffline)
	if n := hub.OmnideskCalls(a.Hub); n != frozen {
		t.Fatalf("the deposed leader made %d more calls", n-frozen)
	}
}

func healthRole(t *testing.T, hubURL string) string {
	t.Helper()
	resp, err := http.Get(hubURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		Role string `json:"role"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h.Role
}

// One employee, two computers on two replicas: still one employee. Each
// computer sees both, one keeps the operator, and locking it hands the
// operator to the other across the replicas.
func TestReplicasShareAnEmployeesComputers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 1_000_000}})
	cl := hubtest.NewCluster()
	start := func(node string) *hubtest.Running {
		return hubtest.Serve(t, ctx, hubtest.New(t, sb, `{"chats": {"enabled": false}, "min_poll_interval": "100ms"}`,
			func(c *hub.Config) { c.Replicas = cl.Replica(node) }))
	}
	a, b := start("a"), start("b")
	cl.Elect("a")
	a.WaitReady(t, 15*time.Second)
	b.WaitReady(t, 15*time.Second)

	desk := connect(t, &stack{sb: sb, hubURL: a.URL}, sandbox.SeedStaffAnna)
	desk.report("desk", feed.PresencePresent)
	laptop := connect(t, &stack{sb: sb, hubURL: b.URL}, sandbox.SeedStaffAnna)
	laptop.report("laptop", feed.PresencePresent)
	laptop.waitDevices("the desk on the other replica keeps the operator", func(d feed.Devices) bool {
		return len(d.Devices) == 2 && !d.Owner && d.Devices[0].Host == "desk" && d.Devices[0].Owner
	})
	desk.waitDevices("the desk sees the laptop", func(d feed.Devices) bool {
		return len(d.Devices) == 2 && d.Owner
	})
	desk.report("desk", feed.PresenceLocked)
	laptop.waitDevices("the laptop takes over when the desk is locked", func(d feed.Devices) bool {
		return len(d.Devices) == 2 && d.Owner
	})
}

// A revocation written to one replica's state directory cuts the employee
// off on another replica too.
func TestReplicasShareRevocations(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 1_000_000}})
	cl := hubtest.NewCluster()
	start := func(node, dir string) *hubtest.Running {
		return hubtest.Serve(t, ctx, hubtest.New(t, sb, `{"chats": {"enabled": false}, "min_poll_interval": "100ms"}`,
			func(c *hub.Config) { c.Replicas, c.StateDir = cl.Replica(node), dir }))
	}
	dirA := t.TempDir()
	a, b := start("a", dirA), start("b", t.TempDir())
	cl.Elect("a")
	a.WaitReady(t, 15*time.Second)
	b.WaitReady(t, 15*time.Second)

	onB := (&guardStack{run: b}).agent(t, hubtest.Token(t, sandbox.SeedStaffAnna))
	onB.waitConnected(t)
	if err := hub.RevokeStaff(dirA, sandbox.SeedStaffAnna, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := onB.stopped(t, "revoked on the other replica"); !errors.Is(err, feed.ErrTokenRevoked) {
		t.Fatalf("the agent on b stopped with %v, want feed.ErrTokenRevoked", err)
	}
}

// A hand-over the leader finds reaches the operator's agent on another
// replica, once; the next leader starts from the shared chat state and
// does not announce it again.
func TestReplicasAnnounceAHandoverOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 1_000_000}})
	if err := sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusOnline); err != nil {
		t.Fatal(err)
	}
	cl := hubtest.NewCluster()
	polls := map[string]chan hub.ChatPollStats{"a": make(chan hub.ChatPollStats, 64), "b": make(chan hub.ChatPollStats, 64)}
	start := func(node string) *hubtest.Running {
		h := hubtest.New(t, sb, `{"chats": {"poll_interval": "1s"}, "min_poll_interval": "100ms"}`,
			func(c *hub.Config) { c.Replicas = cl.Replica(node) })
		hub.SetChatHook(h, func(st hub.ChatPollStats) {
			select {
			case polls[node] <- st:
			default:
			}
		})
		return hubtest.Serve(t, ctx, h)
	}
	a, b := start("a"), start("b")
	cl.Elect("a")
	a.WaitReady(t, 15*time.Second)
	b.WaitReady(t, 15*time.Second)
	anna := connect(t, &stack{sb: sb, hubURL: b.URL}, sandbox.SeedStaffAnna)

	startChat(t, sb, "Vera", handoverTo(sandbox.SeedOperatorAnna))
	if got := anna.chatEvents(1)[0]; got.Kind != feed.ChatHandover || got.OperatorID != sandbox.SeedOperatorAnna {
		t.Fatalf("hand-over on the follower's agent: %+v", got)
	}
	cl.Elect("b")
	for seen := 0; seen < 2; {
		select {
		case st := <-polls["b"]:
			if st.Err == nil && !st.NotReady {
				seen++
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the new leader's chat watcher did not poll")
		}
	}
	anna.chatEvents(0)
}
