package feed

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"
)

// Application close codes (RFC 6455 leaves 4000–4999 to applications). The
// hub closes a live session with one of these, and answers a refused
// handshake with HTTP 401 and the same code in the RefusalHeader, so that
// the agent can tell the employee what to do instead of "disconnected".
// They follow HTTP's numbers where one fits: 4401 the credential is no
// longer good, 4403 it has been taken away.
const (
	CloseTokenExpired = 4401
	CloseTokenRevoked = 4403
	// CloseTooManySessions: the employee has more live connections than the
	// hub allows (limits.sessions_per_staff) and this, the oldest, made
	// way. The agent waits its longest backoff before trying again, so that
	// two computers over the limit do not keep closing each other.
	CloseTooManySessions = 4008
)

// Close reasons of the codes above, for people: the agent shows them as
// they are.
const (
	ReasonTokenExpired = "token expired — run `omnitray login`"
	ReasonTokenRevoked = "token revoked — ask your administrator for a new token"
)

// RefusalHeader carries a close code on a handshake the hub refuses, so a
// refused reconnect reads the same as a closed session.
const RefusalHeader = "Omnitray-Refusal"

// ErrTokenExpired and ErrTokenRevoked are what the client reports when the
// hub closes a session, or refuses a handshake, for an expired or revoked
// token. Both wrap ErrUnauthorized: retrying cannot help, the employee must
// get a new token.
var (
	ErrTokenExpired error = &tokenRefusal{ReasonTokenExpired}
	ErrTokenRevoked error = &tokenRefusal{ReasonTokenRevoked}
)

// tokenRefusal is a refusal whose text is the whole instruction to the
// employee, without the "feed:" plumbing around it.
type tokenRefusal struct{ reason string }

func (e *tokenRefusal) Error() string { return e.reason }
func (e *tokenRefusal) Unwrap() error { return ErrUnauthorized }

// CloseError is why the hub closed a session on purpose, as Serve returns it.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("closed by hub (%d): %s", e.Code, e.Reason)
}

// CloseWith ends the session with an application close code and a reason
// the agent shows; Serve then returns a *CloseError. The reason is recorded
// first, in the same critical section that ends the session, so that the
// agent's answer to the close frame cannot take its place; Serve waits for
// the frame to be written (farewell) and answered before it closes the
// socket.
func (c *ServerConn) CloseWith(code int, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.reason = true, &CloseError{Code: code, Reason: reason}
	farewell := make(chan struct{})
	c.farewell = farewell
	close(c.done)
	serving := c.serving
	c.mu.Unlock()
	goodbye(c.ws, code, reason, c.opts.WriteWait)
	close(farewell)
	if !serving {
		_ = c.ws.Close() // no Serve to do it
	}
}

// RefuseToken answers a handshake for an expired or revoked token: HTTP 401,
// the close code in the RefusalHeader and the reason as the body.
func RefuseToken(w http.ResponseWriter, code int) {
	w.Header().Set(RefusalHeader, strconv.Itoa(code))
	http.Error(w, reasonOf(code), http.StatusUnauthorized)
}

func reasonOf(code int) string {
	switch code {
	case CloseTokenExpired:
		return ReasonTokenExpired
	case CloseTokenRevoked:
		return ReasonTokenRevoked
	}
	return "token refused"
}

// refusalOf maps a close code to the client's error, or nil for codes that
// are not about the token.
func refusalOf(code int) error {
	switch code {
	case CloseTokenExpired:
		return ErrTokenExpired
	case CloseTokenRevoked:
		return ErrTokenRevoked
	}
	return nil
}

// ReasonTokenRefused is the instruction after any other refusal of the
// token (a bad signature, a staff member the hub does not know, a token of
// another hub): no retry helps, a new token does.
const ReasonTokenRefused = "ask for a new token, then run `omnitray login`"

// RefusedError is a handshake the hub refused for a reason other than an
// expired or revoked token. Its text is one clause with the hub's reason and
// the instruction, without the "feed:"/"connect to hub:" plumbing, since the
// employee reads it as the agent's last word.
type RefusedError struct {
	HTTPStatus int
	Why        string // the hub's one-line reason, token removed; may be ""
}

func (e *RefusedError) Error() string {
	detail := fmt.Sprintf("HTTP %d", e.HTTPStatus)
	if e.Why != "" {
		detail += ": " + e.Why
	}
	return fmt.Sprintf("the hub refused the token (%s) — %s", detail, ReasonTokenRefused)
}

func (e *RefusedError) Unwrap() error { return ErrUnauthorized }

// handshakeRefusal is the error for a handshake answered 401 or 403: the
// specific token refusal when the hub named one, else a *RefusedError with
// the hub's reason (why, as shortLine gives it).
func handshakeRefusal(resp *http.Response, why string) error {
	if code, err := strconv.Atoi(resp.Header.Get(RefusalHeader)); err == nil {
		if e := refusalOf(code); e != nil {
			return e
		}
	}
	// The hub's body starts "token refused: "; the sentence says so already.
	why = strings.TrimPrefix(strings.TrimPrefix(why, ": "), "token refused: ")
	return &RefusedError{HTTPStatus: resp.StatusCode, Why: why}
}

// plainRefusal replaces an error that carries a token refusal (a close
// frame, or a refused handshake) by the refusal itself, whose text is all
// the employee needs to read.
func plainRefusal(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if e := refusalOf(ce.Code); e != nil {
			return e
		}
	}
	for _, e := range []error{ErrTokenExpired, ErrTokenRevoked} {
		if errors.Is(err, e) {
			return e
		}
	}
	if re := (*RefusedError)(nil); errors.As(err, &re) {
		return re
	}
	return err
}
