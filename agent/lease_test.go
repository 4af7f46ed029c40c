package agent

import (
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/rules"
)

func TestPlanLease(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ttl := 2 * time.Minute
	online := rules.Decision{Action: rules.KeepOnline}
	offlineLater := rules.Decision{Action: rules.GoOfflineAt, At: now.Add(3 * time.Minute)}
	offlineNow := rules.Decision{Action: rules.GoOfflineAt, At: now}
	hold := rules.Decision{Action: rules.Hold}
	live := lease{Status: chaport.Online, Expires: now.Add(100 * time.Second)}
	for _, tc := range []struct {
		name string
		d    rules.Decision
		l    lease
		want step
	}{
		{"online, nothing written", online, lease{}, step{Write: chaport.Online}},
		{"online, lease fresh", online, live, step{Wake: now.Add(40 * time.Second)}},
		{"online, at half-life", online, lease{Status: chaport.Online, Expires: now.Add(time.Minute)}, step{Write: chaport.Online}},
		{"online, lease lapsed", online, lease{Status: chaport.Online, Expires: now.Add(-time.Second)}, step{Write: chaport.Online}},
		{"online after offline", online, lease{Status: chaport.Offline, Expires: now.Add(time.Minute)}, step{Write: chaport.Online}},
		{"online, backing off", online, lease{RetryAt: now.Add(2 * time.Second)}, step{Wake: now.Add(2 * time.Second)}},
		{"grace running, lease fresh", offlineLater, live, step{Wake: now.Add(40 * time.Second)}},
		{"grace running, lease at half-life", offlineLater, lease{Status: chaport.Online, Expires: now.Add(time.Minute)}, step{Write: chaport.Online, Extend: true}},
		{"grace running, lease lapsed", offlineLater, lease{Status: chaport.Online, Expires: now.Add(-time.Second)}, step{Wake: now.Add(3 * time.Minute)}},
		{"grace running, nothing written", offlineLater, lease{}, step{Wake: now.Add(3 * time.Minute)}},
		{"grace running, extension backing off", offlineLater, lease{Status: chaport.Online, Expires: now.Add(time.Second), RetryAt: now.Add(2 * time.Second)}, step{Wake: now.Add(2 * time.Second)}},
		{"grace ends before the renewal", rules.Decision{Action: rules.GoOfflineAt, At: now.Add(10 * time.Second)}, live, step{Wake: now.Add(10 * time.Second)}},
		{"grace over", offlineNow, live, step{Write: chaport.Offline}},
		{"grace over long ago", rules.Decision{Action: rules.GoOfflineAt, At: now.Add(-time.Hour)}, lease{}, step{Write: chaport.Offline}},
		{"offline already written", offlineNow, lease{Status: chaport.Offline, Expires: now.Add(-time.Hour)}, step{}},
		{"offline confirmed, an online unanswered", offlineNow, lease{Status: chaport.Offline, MaybeOnlineUntil: now.Add(time.Minute)}, step{Write: chaport.Offline}},
		{"offline confirmed, the unanswered online lapsed", offlineNow, lease{Status: chaport.Offline, MaybeOnlineUntil: now}, step{}},
		{"offline, backing off", offlineNow, lease{Status: chaport.Online, RetryAt: now.Add(time.Second)}, step{Wake: now.Add(time.Second)}},
		{"hold with live lease", hold, live, step{}},
		{"hold with nothing", hold, lease{}, step{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := planLease(tc.d, tc.l, now, ttl); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		failures int
		ttl      time.Duration
		want     time.Duration
	}{
		{0, 2 * time.Minute, time.Second},
		{1, 2 * time.Minute, 2 * time.Second},
		{4, 2 * time.Minute, 16 * time.Second},
		{5, 2 * time.Minute, 30 * time.Second},
		{50, 2 * time.Minute, 30 * time.Second},
		{3, 20 * time.Second, 5 * time.Second},
		{3, 2 * time.Second, time.Second},
	} {
		if got := retryDelay(tc.failures, tc.ttl); got != tc.want {
			t.Errorf("retryDelay(%d, %v) = %v, want %v", tc.failures, tc.ttl, got, tc.want)
		}
	}
}
