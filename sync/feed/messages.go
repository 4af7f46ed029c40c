package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/omnitray/omnitray/sync/chaport"
)

// Version is the protocol version carried in every envelope. A peer ignores
// frames of any other version instead of failing, so that a hub and its agents
// can be upgraded one at a time.
const Version = 1

// Message types. The first three travel hub → agent unprompted; the next three
// are agent → hub requests; ack and error answer a request and echo its id.
const (
	TypeSnapshot     = "snapshot"
	TypeStatus       = "status"
	TypeCatalogue    = "catalogue"
	TypeSwitchStatus = "switch_status"
	TypeSetChaport   = "set_chaport"
	TypeReadOperator = "read_operator"
	TypeExtendOnline = "extend_online"
	TypeChat         = "chat"
	TypeAck          = "ack"
	TypeError        = "error"
)

// Error codes carried in ErrorBody.Code. They are part of the wire contract:
// the agent picks its wording (and whether to offer "open Omnidesk") from the
// code, never from the message text.
const (
	CodeBadRequest   = "bad_request"    // malformed frame or payload
	CodeForbidden    = "forbidden"      // the token may not do this
	CodeNoChatAccess = "no_chat_access" // "online" asked while the mapping gives no chat access
	CodeRefused      = "refused"        // the vendor (Omnidesk, Chaport) said no
	CodeNotApplied   = "not_applied"    // Omnidesk took a status switch but does not show it
	CodeUnavailable  = "unavailable"    // the vendor could not be reached
	CodeRateLimited  = "rate_limited"   // the vendor's or the hub's limit is used up; retry after retry_after_seconds
	CodeNotLinked    = "not_linked"     // the staff member has no Chaport operator
	CodeInternal     = "internal"       // a hub bug; details are in the hub's log
)

// Defaults for the limits both sides enforce. The ping interval sits well
// below the pong wait so that one lost ping does not cost the connection.
const (
	DefaultMaxFrameBytes int64 = 64 << 10
	DefaultPingInterval        = 20 * time.Second
	DefaultPongWait            = 45 * time.Second
	DefaultWriteWait           = 10 * time.Second
	DefaultSendQueue           = 64
	DefaultMinBackoff          = 500 * time.Millisecond
	DefaultMaxBackoff          = 30 * time.Second
)

// Errors callers tell apart with errors.Is.
var (
	ErrBadFrame      = errors.New("feed: malformed frame")
	ErrVersion       = errors.New("feed: unsupported protocol version")
	ErrFrameTooLarge = errors.New("feed: frame exceeds the size limit")
	ErrProtocol      = errors.New("feed: protocol violation")
	ErrPeerSilent    = errors.New("feed: peer stopped answering pings")
	ErrSlowClient    = errors.New("feed: client cannot keep up with the feed")
	ErrClosed        = errors.New("feed: connection closed")
	ErrNotConnected  = errors.New("feed: not connected to the hub")
	ErrUnauthorized  = errors.New("feed: hub refused the token")
)

// Envelope is the one JSON object every frame consists of.
type Envelope struct {
	V    int    `json:"v"`
	Type string `json:"type"`
	// ID is chosen by the requester and echoed by the ack or error, so that
	// several requests may be in flight on one connection.
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Person is an Omnidesk staff member.
type Person struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Operator is a Chaport operator. Chaport ids are opaque strings.
type Operator struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Status is one entry of the Omnidesk status catalogue. ChatAccess comes from
// the hub's mapping, because Omnidesk's API does not expose it.
type Status struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	ChatAccess bool   `json:"chat_access"`
	Active     bool   `json:"active"`
}

// Snapshot is everything an agent needs to decide, sent first on every
// connection so that a reconnect never depends on state from an older one.
type Snapshot struct {
	Staff Person `json:"staff"`
	// Operator is nil when the staff member is linked to no Chaport operator.
	Operator    *Operator `json:"operator"`
	Statuses    []Status  `json:"statuses"`
	StatusID    int64     `json:"status_id"`
	ObservedAt  time.Time `json:"observed_at"`
	OmnideskURL string    `json:"omnidesk_url"`
	// Chaport is the operator's status as the hub last read it, so that an
	// agent neither counts down to nor writes a status Chaport already
	// shows. Nil when the hub has not read it (yet); older hubs never send
	// it, and agents then behave as before.
	Chaport *ChaportSeen `json:"chaport,omitempty"`
}

// ChaportSeen is an operator's status as Chaport reported it to the hub: in
// the operator list the hub reads periodically, or in the answer to a write
// or read-back the hub made since. ReadAt says how old it is: the status may
// have changed since (a person in Chaport's own UI, a lease lapsing).
type ChaportSeen struct {
	Status     chaport.Status `json:"status"`      // lastStatus: the status last chosen
	RealStatus chaport.Status `json:"real_status"` // realStatus: the effective one
	ReadAt     time.Time      `json:"read_at"`
}

// StatusChange reports a new Omnidesk status seen by the hub's poller.
type StatusChange struct {
	StatusID   int64     `json:"status_id"`
	ObservedAt time.Time `json:"observed_at"`
}

// Catalogue replaces the status catalogue (an admin added or renamed a
// custom status, or the mapping changed).
type Catalogue struct {
	Statuses []Status `json:"statuses"`
}

// SwitchStatus asks the hub to set the employee's Omnidesk status. The ack
// means Omnidesk shows the new status (the hub read it back) and carries it
// as a StatusChange; a switch Omnidesk took but did not apply is an error
// with CodeNotApplied. The status also arrives through the feed as usual.
type SwitchStatus struct {
	StatusID int64 `json:"status_id"`
}

// SetChaport asks the hub to write the linked operator's status as a lease
// that Chaport lets lapse after TTLSeconds unless it is renewed.
type SetChaport struct {
	Status     chaport.Status `json:"status"`
	TTLSeconds int            `json:"ttl_seconds"`
	// OperatorID is optional: the hub always writes the caller's own linked
	// operator, and refuses (forbidden) a request that names another.
	OperatorID string `json:"operator_id,omitempty"`
	// Why is the agent's reason, kept in the employee's status history.
	Why
}

// Why is why an agent asks for a write: its "why" line and the cause as a
// word (history.Cause*). The hub keeps them in the status history.
type Why struct {
	Reason string `json:"reason,omitempty"`
	Cause  string `json:"cause,omitempty"`
}

// ChaportState is the operator's status as Chaport reports it after a write
// or a read, so the agent can detect drift between what it asked and what is.
type ChaportState struct {
	Status     chaport.Status `json:"status"`
	LastStatus chaport.Status `json:"last_status"`
	RealStatus chaport.Status `json:"real_status"`
	ExpiresAt  time.Time      `json:"expires_at,omitzero"`
	// TTLSeconds is the lease granted, which for extend_online may be
	// shorter than asked.
	TTLSeconds int `json:"ttl_seconds,omitempty"`
}

// Chat event kinds.
const (
	ChatHandover      = "handover"       // a bot passed the chat to a human
	ChatOperatorReply = "operator_reply" // a human answered after a hand-over
)

// ChatEvent tells an agent about a Chaport chat a bot handed over. The hub
// pushes it to the staff member linked to the assigned operator, or, for a
// hand-over to nobody in particular, to every agent whose status has chat
// access. Visitor and bot text is untrusted: agents escape it for display.
type ChatEvent struct {
	Kind        string    `json:"kind"`
	ChatID      int64     `json:"chat_id"`
	VisitorID   string    `json:"visitor_id"`
	VisitorName string    `json:"visitor_name"`
	BotName     string    `json:"bot_name,omitempty"`
	OperatorID  string    `json:"operator_id,omitempty"`
	At          time.Time `json:"at"`
	// Transcript is the bot's part of the conversation before the
	// hand-over, oldest first, already bounded by the hub.
	Transcript []ChatLine `json:"transcript,omitempty"`
}

// ChatLine is one message of a transcript.
type ChatLine struct {
	From string `json:"from"` // "visitor" or "bot"
	Text string `json:"text"`
}

// ExtendOnline asks the hub to renew an online lease during the grace delay.
type ExtendOnline struct {
	TTLSeconds int `json:"ttl_seconds"`
	Why
}

// ErrorBody is the payload of an "error" frame.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfterSeconds, on rate_limited, is when the same request may
	// succeed; 0 when the hub cannot tell.
	RetryAfterSeconds float64 `json:"retry_after_seconds,omitempty"`
}

// RemoteError is the hub's "error" answer to a request.
type RemoteError struct {
	Code    string
	Message string
	// RetryAfter, on rate_limited, is how long to wait before asking again.
	RetryAfter time.Duration
}

func (e *RemoteError) Error() string {
	if e.Message == "" {
		return "hub refused: " + e.Code
	}
	return "hub refused: " + e.Message
}

// NewEnvelope builds a current-version envelope. A nil data leaves the data
// field out.
func NewEnvelope(typ, id string, data any) (Envelope, error) {
	env := Envelope{V: Version, Type: typ, ID: id}
	if data == nil {
		return env, nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %q payload: %w", typ, err)
	}
	env.Data = raw
	return env, nil
}

// Decode parses one frame, refusing frames over DefaultMaxFrameBytes. It
// returns ErrVersion (with the envelope) for another protocol version, and
// ErrBadFrame otherwise; with ErrBadFrame the envelope holds at most the id,
// when that much could be read, so that the answer can be matched.
func Decode(frame []byte) (Envelope, error) {
	return decode(frame, DefaultMaxFrameBytes)
}

// decode is Decode with the limit the connection was configured with, so
// that raising MaxFrameBytes in options is not undone here.
func decode(frame []byte, limit int64) (Envelope, error) {
	if int64(len(frame)) > limit {
		return Envelope{}, fmt.Errorf("decode frame of %d bytes: %w (limit %d)", len(frame), ErrFrameTooLarge, limit)
	}
	var env Envelope
	if err := json.Unmarshal(frame, &env); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return Envelope{}, fmt.Errorf("decode frame: %w: %w", ErrBadFrame, err)
		}
		// A type mismatch leaves the well-typed fields filled in; only the
		// id is trustworthy enough to keep.
		return Envelope{ID: env.ID}, fmt.Errorf("decode frame: %w: %w", ErrBadFrame, err)
	}
	if env.V == 0 && env.Type == "" && env.ID == "" {
		// null, {} and other frames with nothing of an envelope in them are
		// malformed, not "another version" to be ignored in silence.
		return Envelope{}, fmt.Errorf("decode frame: %w: not an envelope", ErrBadFrame)
	}
	if env.V != Version {
		return env, fmt.Errorf("decode frame: %w: v=%d", ErrVersion, env.V)
	}
	if env.Type == "" {
		return Envelope{ID: env.ID}, fmt.Errorf("decode frame: %w: no type", ErrBadFrame)
	}
	return env, nil
}

// DecodeData parses an envelope's payload. A missing or null payload yields
// the zero value, and unknown fields are ignored, so that either side may add
// fields without a version bump.
func DecodeData[T any](env Envelope) (T, error) {
	var v T
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return v, nil
	}
	if err := json.Unmarshal(env.Data, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("decode %q payload: %w: %w", env.Type, ErrBadFrame, err)
	}
	return v, nil
}

// isRequest reports whether an agent may send typ; anything else reaching the
// hub is ignored, as the protocol promises for unknown types.
func isRequest(typ string) bool {
	switch typ {
	case TypeSwitchStatus, TypeSetChaport, TypeReadOperator, TypeExtendOnline, TypePresence, TypeHistory, TypeToday:
		return true
	}
	return false
}
