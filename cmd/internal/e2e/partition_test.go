package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
)

// linkProxy stands between the agent and the hub so that a test can cut the
// network link (every connection dropped, new ones refused) and restore it.
// A cluster test also puts one between each hub replica and the vendor
// fakes, to tell the replicas' calls apart (see startLinkProxyFrom).
type linkProxy struct {
	ln     net.Listener
	target string
	dialer net.Dialer

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func startLinkProxy(t testing.TB, target string) *linkProxy {
	return startLinkProxyFrom(t, target, nil)
}

// startLinkProxyFrom is startLinkProxy connecting to target from the
// address from (nil: any), e.g. a loopback address of one hub replica's
// own, which the sandbox's call log then names.
func startLinkProxyFrom(t testing.TB, target string, from net.IP) *linkProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &linkProxy{ln: ln, target: target}
	if from != nil {
		p.dialer.LocalAddr = &net.TCPAddr{IP: from}
	}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *linkProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *linkProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := p.dialer.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

func (p *linkProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// agentView is what `omnitray status --json` says, in part.
func agentView(t testing.TB, s *stack, env []string) (connection string, statusID int64) {
	st, _ := readAgent(t, env)
	return st.Connection, st.StatusID
}

// TestPartitionAndHubCrash: with the link to the hub cut, or the hub
// killed, for longer than the lease, the operator goes offline by itself
// and the agent says its status is unknown; once the hub is back, the agent
// restores the operator without anyone doing anything.
func TestPartitionAndHubCrash(t *testing.T) {
	s := startStack(t)
	s.setStaffStatus(staffBoris, statusOnline)
	proxy := startLinkProxy(t, s.hubURL[len("http://"):])
	env := with(s.env, "OMNITRAY_TOKEN="+s.token(staffBoris))
	startProc(t, env, omnitrayBin, "run", "--headless", "--hub", proxy.url(), "--grace", "2s", "--lease", "3s")
	s.waitWrite(opBoris, "online", 0)

	check := func(what string, recover func()) {
		t.Helper()
		waitFor(t, what+": the lease lapses and the agent shows the status as unknown", func() bool {
			conn, status := agentView(t, s, env)
			return s.operator(opBoris).RealStatus == "offline" && conn == "disconnected" && status == 0
		})
		seq := s.lastSeq()
		recover()
		s.waitWrite(opBoris, "online", seq)
		waitFor(t, what+": the operator online again", func() bool {
			conn, status := agentView(t, s, env)
			return s.operator(opBoris).RealStatus == "online" && conn == "connected" && status == statusOnline
		})
	}
	cutSeq := s.lastSeq()
	proxy.setCut(true)
	check("link cut", func() {
		// Offline came from the lease lapsing in Chaport, not from a write:
		// nothing can reach the hub while the link is down.
		if ws := s.writes(opBoris, cutSeq); len(ws) > 1 { // one may have been in flight
			t.Fatalf("writes while the link was cut: %+v", ws)
		}
		proxy.setCut(false)
	})

	s.hub.kill()
	check("hub killed", func() {
		// Same address, same config: the hub's environment holds both.
		s.hub = startProc(t, s.hubEnv, hubBin, "serve")
		if !s.waitHubReady() {
			t.Fatalf("the hub did not come back: %s", s.hub.stderr.String())
		}
	})
}
