package agent

import (
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
)

// Pausing the sync means "hands off Chaport": Omnitray writes nothing (no
// online, no offline, no reconciling after a drift check) until the user
// resumes. It does not hold the status either: Chaport's statuses from the
// API are leases, so an online Omnitray wrote before the pause lasts until
// its lease ends and then lapses to offline, unless the employee sets a
// status in Chaport's own app, which then stays. The why line, the icon and
// `omnitray status` say exactly that, and change when the lease ends.

// pausedReason is the why line while paused, as of now.
func pausedReason(l lease, now time.Time) string {
	const head = "Sync paused — Omnitray changes nothing in Chaport"
	if l.Status == chaport.Online && l.Expires.After(now) {
		return head + "; its online lease ends at " + l.Expires.Local().Format("15:04:05") +
			", then Chaport goes offline unless you set a status in Chaport"
	}
	return head + "; Chaport shows what you set there (offline if nothing)"
}
