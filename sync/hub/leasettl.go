package hub

import (
	"time"

	"github.com/omnitray/omnitray/sync/feed"
)

// leaseTTL turns a request's ttl_seconds into a lease, checking the bounds
// on the count of seconds before multiplying: a huge count would overflow
// the multiplication and wrap round to a small lease that passes the check
// (18446744103 used to become 29 s).
func leaseTTL(secs int, maxTTL time.Duration) (time.Duration, error) {
	if secs < 1 || int64(secs) > int64(maxTTL/time.Second) {
		return 0, refuse(feed.CodeBadRequest, "ttl_seconds must be between 1 and %d", int(maxTTL/time.Second))
	}
	return time.Duration(secs) * time.Second, nil
}
