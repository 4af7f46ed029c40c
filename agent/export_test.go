package agent

import (
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
)

// For the external tests (package agent_test) that drive agent/notices
// against a running agent: agent/notices imports agent, so they cannot be
// in-package tests, and the fake hub they need is this package's.

// TestAgent is an agent running against a fake hub on a fake clock.
type TestAgent struct {
	h     *harness
	A     *Agent
	Clock *clock.Fake
}

// StartTestAgent starts an agent whose Omnidesk status is status.
func StartTestAgent(t *testing.T, status int64) *TestAgent { return wrap(startAgent(t, status)) }

// StartSeenTestAgent starts an agent whose hub says Chaport shows real for
// the operator, read at the fake clock's start.
func StartSeenTestAgent(t *testing.T, status int64, real string) *TestAgent {
	h := newFakeHub(t, status)
	h.seen.Store(&feed.ChaportSeen{Status: chaport.Status(real), RealStatus: chaport.Status(real), ReadAt: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)})
	return wrap(startAgentOn(t, h, nil))
}

func wrap(h *harness) *TestAgent { return &TestAgent{h: h, A: h.a, Clock: h.clock} }

func (x *TestAgent) Push(status int64)          { x.h.push(status) }
func (x *TestAgent) PushChat(ce feed.ChatEvent) { x.h.pushChat(ce) }
func (x *TestAgent) Drop()                      { x.h.drop() }
func (x *TestAgent) CloseHub()                  { x.h.srv.Close() }
func (x *TestAgent) ExpectWrite(status string)  { x.h.t.Helper(); x.h.expectWrite(status) }
func (x *TestAgent) ExpectNoWrite()             { x.h.t.Helper(); x.h.expectNoWrite() }
func (x *TestAgent) WaitStatus(id int64) State  { x.h.t.Helper(); return x.h.waitStatus(id) }

func (x *TestAgent) WaitState(what string, ok func(State) bool) State {
	x.h.t.Helper()
	return x.h.waitState(what, ok)
}

func (x *TestAgent) AdvanceUntil(step time.Duration, what string, cond func() bool) {
	x.h.t.Helper()
	x.h.advanceUntil(step, what, cond)
}

// PublishState makes s a's latest state without a running loop.
func PublishState(a *Agent, s State) { a.snapshots.publish(s) }

const MaxRecentChats = maxRecentChats
