package feed

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrNotAHub is what the client reports (wrapped, with the HTTP status)
// when the address answers HTTP, but not as a hub: a 404 from another web
// server, a login page, a redirect. 401/403 (a refused token), 408, 429 and
// 5xx (a hub starting, or a proxy in front of one that is down) are not it.
var ErrNotAHub = errors.New("feed: not an Omnitray hub")

// hopelessAfter is how many handshakes in a row, with none ever connected,
// must come from something that is not a hub before the client says so in
// one line and slows to HopelessBackoff: one 404 may be a proxy that was
// being reconfigured, three in a row at growing intervals are not.
const hopelessAfter = 3

// HopelessBackoff is the wait between tries at an address that never
// answered as a hub (the longer of it and MaxBackoff).
const HopelessBackoff = 5 * time.Minute

// repeatLogEvery is how often an unchanged reason for being disconnected is
// logged again, with the count of tries since: often enough to show in a
// log that it is still so, not once per try.
const repeatLogEvery = 30 * time.Minute

// notAHubStatus reports whether a handshake's HTTP answer says the address
// is not a hub at all, rather than a hub (or its proxy) that is refusing,
// busy or down for now.
func notAHubStatus(code int) bool {
	switch {
	case code == http.StatusUnauthorized, code == http.StatusForbidden,
		code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return false
	case code >= 500:
		return false
	}
	return true
}

// dropLog keeps the feed's log to one line per reason for being
// disconnected from one hub URL: a hub that is down for an hour would
// otherwise write a line per try, and a wrong URL one every 30 s forever.
// Run keeps one per URL, so that replicas failing for different reasons
// in turn do not each undo the other's "said that already".
type dropLog struct {
	last    string    // the reason last logged
	at      time.Time // when
	repeats int       // tries with that reason since
	said    bool      // the "never connected" line was written for last
}

// log notes a failed try at feedURL. hopeless says this URL never answered
// as a hub; slow, that no URL of the list did, so that Run now tries only
// every HopelessBackoff.
func (d *dropLog) log(log *slog.Logger, now time.Time, err error, connected, hopeless, slow bool, feedURL string) {
	why := err.Error()
	if why == d.last && now.Sub(d.at) < repeatLogEvery && (!hopeless || d.said) {
		d.repeats++
		return
	}
	var extra []any
	if why == d.last && d.repeats > 0 {
		extra = append(extra, "tries_since_last_logged", d.repeats)
	}
	d.last, d.at, d.repeats = why, now, 0
	switch {
	case hopeless:
		d.said = true
		msg := fmt.Sprintf("feed: never connected to %s: %v; check the hub URL (--hub)", HubBase(feedURL), err)
		if slow {
			msg += fmt.Sprintf("; trying again every %v", HopelessBackoff)
		}
		log.Error(msg, extra...)
	case connected:
		d.said = false
		log.Info("feed: disconnected from hub", append([]any{"hub", HubBase(feedURL), "err", err}, extra...)...)
	default:
		d.said = false
		log.Info(fmt.Sprintf("feed: not connected to %s yet", HubBase(feedURL)), append([]any{"err", err}, extra...)...)
	}
}

// HubBase turns a feed URL back into the hub's base URL as a person gave it
// (wss://hub.example/v1/feed → https://hub.example), for messages.
func HubBase(feedURL string) string {
	u, err := url.Parse(feedURL)
	if err != nil {
		return feedURL
	}
	switch u.Scheme {
	case "wss":
		u.Scheme = "https"
	case "ws":
		u.Scheme = "http"
	}
	u.Path = strings.TrimSuffix(u.Path, FeedPath)
	u.RawPath = ""
	return u.String()
}
