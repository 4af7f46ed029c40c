package hub_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// A lease length is checked before it is multiplied: ttl_seconds large
// enough to overflow must be refused, not wrapped round to a few seconds.
func TestLeaseTTLOverflowRefused(t *testing.T) {
	g := startGuardStack(t)
	anna := g.agent(t, g.sign(t, sandbox.SeedStaffAnna, time.Hour))
	anna.waitConnected(t)
	for _, secs := range []int{18446744103, 1 << 62, -1, 0} {
		for _, req := range []any{feed.SetChaport{Status: "offline", TTLSeconds: secs}, feed.ExtendOnline{TTLSeconds: secs}} {
			typ := feed.TypeSetChaport
			if _, ok := req.(feed.ExtendOnline); ok {
				typ = feed.TypeExtendOnline
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			_, err := anna.c.Request(ctx, typ, req)
			cancel()
			var re *feed.RemoteError
			if !errors.As(err, &re) || re.Code != feed.CodeBadRequest {
				t.Errorf("%s with ttl_seconds %d: %v, want bad_request", typ, secs, err)
			}
		}
	}
}
