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
	p := startReplicaPair(t, 240, replicaHubFile, nil, nil)
	sb, cl, a, b := p.sb, p.cl, p.a, p.b
	// b is ready from a's pages: it never polled.
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

// replicaPair is two hubs, a and b, as replicas of one cluster on the
// in-process engine (hubtest.Cluster), on a new sandbox with the given
// Omnidesk budget: a leads, and both are ready (b from a's pages). prepare,
// if set, edits each hub's config and then sees the hub before it runs.
type replicaPair struct {
	sb   *sandbox.Sandbox
	cl   *hubtest.Cluster
	a, b *hubtest.Running
}

func startReplicaPair(t *testing.T, budget int, file string, configure func(node string, c *hub.Config),
	prepare func(node string, h *hub.Hub)) replicaPair {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p := replicaPair{sb: hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: budget}}),
		cl: hubtest.NewCluster()}
	start := func(node string) *hubtest.Running {
		h := hubtest.New(t, p.sb, file, func(c *hub.Config) {
			c.Replicas = p.cl.Replica(node)
			if configure != nil {
				configure(node, c)
			}
		})
		if prepare != nil {
			prepare(node, h)
		}
		return hubtest.Serve(t, ctx, h)
	}
	p.a, p.b = start("a"), start("b")
	p.cl.Elect("a")
	p.a.WaitReady(t, 15*time.Second)
	p.b.WaitReady(t, 15*time.Second)
	return p
}

const replicaHubFile = `{"chats": {"enabled": false}, "min_poll_interval": "100ms"}`

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
	p := startReplicaPair(t, 1_000_000, replicaHubFile, nil, nil)
	sb, a, b := p.sb, p.a, p.b

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
	dirs := map[string]string{"a": t.TempDir(), "b": t.TempDir()}
	p := startReplicaPair(t, 1_000_000, replicaHubFile, func(node string, c *hub.Config) { c.StateDir = dirs[node] }, nil)
	dirA := dirs["a"]

	onB := (&guardStack{run: p.b}).agent(t, hubtest.Token(t, sandbox.SeedStaffAnna))
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
	polls := map[string]chan hub.ChatPollStats{"a": make(chan hub.ChatPollStats, 64), "b": make(chan hub.ChatPollStats, 64)}
	p := startReplicaPair(t, 1_000_000, `{"chats": {"poll_interval": "1s"}, "min_poll_interval": "100ms"}`, nil,
		func(node string, h *hub.Hub) {
			hub.SetChatHook(h, func(st hub.ChatPollStats) {
				select {
				case polls[node] <- st:
				default:
				}
			})
		})
	sb, cl := p.sb, p.cl
	if err := sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusOnline); err != nil {
		t.Fatal(err)
	}
	anna := connect(t, &stack{sb: sb, hubURL: p.b.URL}, sandbox.SeedStaffAnna)

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
