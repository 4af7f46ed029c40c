package feed

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// keepalive arms the read deadline and keeps pushing it out on every ping,
// pong and frame, so that a peer that is busy talking is never mistaken for
// a dead one, while a half-open TCP connection (laptop lid closed, NAT entry
// dropped) is noticed within pongWait instead of hours later.
func keepalive(ws *websocket.Conn, pongWait, writeWait time.Duration, onPong func()) (extend func()) {
	extend = func() { _ = ws.SetReadDeadline(time.Now().Add(pongWait)) }
	extend()
	ws.SetPongHandler(func(string) error {
		extend()
		if onPong != nil {
			onPong()
		}
		return nil
	})
	ws.SetPingHandler(func(msg string) error {
		extend()
		err := ws.WriteControl(websocket.PongMessage, []byte(msg), time.Now().Add(writeWait))
		// Like gorilla's default handler: a pong that cannot be written is the
		// write side's problem to report, not a reason to fail the read.
		var ne net.Error
		if err == nil || errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) {
			return nil
		}
		return err
	})
	return extend
}

// readFailure turns gorilla's read errors into ones callers can test with
// errors.Is, because "i/o timeout" or "read limit exceeded" alone do not tell
// an operator what went wrong or which setting to look at.
func readFailure(err error, limit int64, pongWait time.Duration) error {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return fmt.Errorf("read frame: %w (limit %d bytes)", ErrFrameTooLarge, limit)
	case errors.As(err, &ce) && ce.Code >= 4000 && ce.Code <= 4999 && ce.Text != "":
		// The hub's own reasons are sentences meant for the employee.
		return fmt.Errorf("the hub closed the connection: %s: %w", ce.Text, err)
	case errors.As(err, &ce):
		return fmt.Errorf("peer closed the connection: %w", err)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("read frame: %w (nothing heard for %s)", ErrPeerSilent, pongWait)
	default:
		return fmt.Errorf("read frame: %w", err)
	}
}

// goodbye sends a close frame, best effort: the peer learns why at once
// instead of waiting for its pong timeout, but nothing depends on it arriving.
func goodbye(ws *websocket.Conn, code int, reason string, writeWait time.Duration) {
	msg := websocket.FormatCloseMessage(code, reason)
	_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait))
}

// durationOr and friends fill zero options with defaults, so that a zero
// ServerOptions or ClientOptions is usable.
func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func int64Or(n, def int64) int64 {
	if n <= 0 {
		return def
	}
	return n
}
