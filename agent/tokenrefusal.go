package agent

import (
	"errors"
	"fmt"

	"github.com/omnitray/omnitray/sync/feed"
)

// tokenRefusal is the sentence for a token the hub ended for good (expired
// or revoked), which tells the employee what to do; ok is false for any
// other failure.
func tokenRefusal(err error) (msg string, ok bool) {
	for _, e := range []error{feed.ErrTokenExpired, feed.ErrTokenRevoked} {
		if errors.Is(err, e) {
			return e.Error(), true
		}
	}
	return "", false
}

// feedEnded publishes why the feed stopped for good and returns Run's
// error. An expired or revoked token is said as the plain sentence, in the
// log, in `omnitray status` and as the error, rather than as a generic
// disconnect; the feed client does not retry it, so the hub is not pestered.
func (l *loop) feedEnded(err error) error {
	l.link.ended(err)
	msg, ok := tokenRefusal(err)
	if ok {
		l.a.log.Error(msg)
	}
	l.publish()
	if ok || errors.Is(err, feed.ErrUnauthorized) {
		// A refusal is already one sentence with its instruction; a
		// "connecting to the hub:" before it would only repeat the layer.
		return err
	}
	return fmt.Errorf("connecting to the hub: %w", err)
}

// StopReason is what to tell the employee when Run returned err: the plain
// sentence for an expired or revoked token, else that the token was refused.
func StopReason(err error) string {
	if msg, ok := tokenRefusal(err); ok {
		return msg + "."
	}
	return "The hub refused the stored token; " + feed.ReasonTokenRefused + "."
}
