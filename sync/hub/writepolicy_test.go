package hub

import (
	"errors"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
)

func TestMayWrite(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	own := feed.Operator{ID: "op1"}
	base := func(edit func(*writeAsk)) writeAsk {
		a := writeAsk{Status: chaport.Online, TTLSeconds: 60, Linked: true, Operator: own, ChatAccess: true,
			StatusName: "Обед", MaxLease: 10 * time.Minute, GraceAllowance: 10 * time.Minute, Now: now}
		if edit != nil {
			edit(&a)
		}
		return a
	}
	noAccess := func(a *writeAsk) { a.ChatAccess = false }
	extend := func(a *writeAsk) { a.Extend, a.Status = true, "" }
	for _, tc := range []struct {
		name string
		ask  writeAsk
		code string        // "" for a grant
		ttl  time.Duration // of the grant
	}{
		{"online with access", base(nil), "", time.Minute},
		{"offline without access", base(func(a *writeAsk) { a.ChatAccess, a.Status = false, chaport.Offline }), "", time.Minute},
		{"invisible", base(func(a *writeAsk) { a.Status = chaport.Invisible }), "", time.Minute},
		{"unknown status", base(func(a *writeAsk) { a.Status = "away" }), feed.CodeBadRequest, 0},
		{"ttl 0", base(func(a *writeAsk) { a.TTLSeconds = 0 }), feed.CodeBadRequest, 0},
		{"ttl negative", base(func(a *writeAsk) { a.TTLSeconds = -1 }), feed.CodeBadRequest, 0},
		{"ttl over max_lease", base(func(a *writeAsk) { a.TTLSeconds = 601 }), feed.CodeBadRequest, 0},
		{"ttl at max_lease", base(func(a *writeAsk) { a.TTLSeconds = 600 }), "", 10 * time.Minute},
		{"ttl that overflows when multiplied", base(func(a *writeAsk) { a.TTLSeconds = 18446744103 }), feed.CodeBadRequest, 0},
		{"another operator", base(func(a *writeAsk) { a.OperatorID = "op2" }), feed.CodeForbidden, 0},
		{"own operator named", base(func(a *writeAsk) { a.OperatorID = "op1" }), "", time.Minute},
		{"an operator named while unlinked", base(func(a *writeAsk) { a.OperatorID, a.Linked = "op1", false }), feed.CodeForbidden, 0},
		{"unlinked", base(func(a *writeAsk) { a.Linked = false }), feed.CodeNotLinked, 0},
		{"online without access", base(noAccess), feed.CodeNoChatAccess, 0},
		{"extend with access", base(extend), "", time.Minute},
		{"extend in the grace", base(func(a *writeAsk) {
			extend(a)
			noAccess(a)
			a.AccessLostAt, a.OnlineUntil = now.Add(-time.Minute), now.Add(30*time.Second)
		}), "", time.Minute},
		{"extend capped by the allowance", base(func(a *writeAsk) {
			extend(a)
			noAccess(a)
			a.AccessLostAt, a.OnlineUntil = now.Add(-9*time.Minute-30*time.Second), now.Add(10*time.Second)
		}), "", 30 * time.Second},
		{"extend after the allowance", base(func(a *writeAsk) {
			extend(a)
			noAccess(a)
			a.AccessLostAt, a.OnlineUntil = now.Add(-10*time.Minute), now.Add(10*time.Second)
		}), feed.CodeNoChatAccess, 0},
		{"extend a lapsed lease", base(func(a *writeAsk) {
			extend(a)
			noAccess(a)
			a.AccessLostAt, a.OnlineUntil = now.Add(-time.Minute), now.Add(-time.Second)
		}), feed.CodeNoChatAccess, 0},
		{"extend when the hub never saw access", base(func(a *writeAsk) {
			extend(a)
			noAccess(a)
			a.OnlineUntil = now.Add(time.Minute)
		}), feed.CodeNoChatAccess, 0},
	} {
		g, err := mayWrite(tc.ask)
		var re *feed.RemoteError
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.code != "" && (!errors.As(err, &re) || re.Code != tc.code):
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		case tc.code == "" && (g.TTL != tc.ttl || g.Operator != own):
			t.Errorf("%s: granted %+v, want ttl %v for the own operator", tc.name, g, tc.ttl)
		}
	}
}
