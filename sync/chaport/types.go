package chaport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Status is an operator status string as the API spells it.
type Status string

// The three statuses Chaport's help centre names. Their API spelling is inferred.
const (
	Online    Status = "online"
	Offline   Status = "offline"
	Invisible Status = "invisible"
)

// Operator is one Chaport operator (docs/vendor-contract.md).
type Operator struct {
	ID             string    `json:"id"`
	Email          string    `json:"email"`
	Name           string    `json:"name"`
	Language       string    `json:"language"`
	JobTitle       string    `json:"jobTitle"`
	Role           string    `json:"role"`
	LastLoginAt    time.Time `json:"lastLoginAt"`
	LastActivityAt time.Time `json:"lastActivityAt"`
	Image          string    `json:"image"`
	// LastStatus is the status last chosen; RealStatus is the effective one,
	// which is what a mirror should verify against.
	LastStatus Status `json:"lastStatus"`
	RealStatus Status `json:"realStatus"`
}

// Visitor is the part of a visitor the hub uses; other fields are ignored.
type Visitor struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// VisitorPage is one page of visitors, most recent chat first.
type VisitorPage struct {
	Visitors []Visitor
	Next     string // links.next; "" on the last page
}

// Chat is a visitor's chat with its events.
type Chat struct {
	ID        int64
	Stage     string
	Operators []string // operator ids, whichever shape the server used
	Missed    bool
	Rating    json.RawMessage // as sent; nil when absent or null
	Events    []Event
	More      []string // links.more: API URLs of the visitor's older chats
}

// Event is one chat event. Only a few params are lifted into fields; the rest
// stay in Params so that new event kinds need no client change.
type Event struct {
	ID         string // opaque: the server may send a string or a number
	Type       string
	Text       string // params.text
	OperatorID string // params.operatorId
	BotID      string // params.botId (a guess)
	BotName    string // params.botName (a guess)
	Params     map[string]json.RawMessage
	At         time.Time // zero when the configured timestamp field is absent
}

type links struct {
	Next string   `json:"next"`
	More []string `json:"more"`
}

type wireChat struct {
	ID        int64             `json:"id"`
	Stage     string            `json:"stage"`
	Operators []operatorRef     `json:"operators"`
	Missed    bool              `json:"missed"`
	Rating    json.RawMessage   `json:"rating"`
	Events    []json.RawMessage `json:"events"`
	Links     links             `json:"links"`
}

// operatorRef accepts "<id>" or {"id":"<id>",…}, because which of the two a
// chat's operators list holds is unconfirmed.
type operatorRef string

func (o *operatorRef) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		*o = operatorRef(s)
		return nil
	}
	var obj struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return errors.New("chat operator is neither an id nor an object")
	}
	id, err := opaqueID(obj.ID)
	if err != nil {
		return fmt.Errorf("chat operator: %w", err)
	}
	*o = operatorRef(id)
	return nil
}

func decodeChat(raw json.RawMessage, timeField string) (Chat, error) {
	var w wireChat
	if err := json.Unmarshal(raw, &w); err != nil {
		return Chat{}, err
	}
	c := Chat{ID: w.ID, Stage: w.Stage, Missed: w.Missed, More: w.Links.More}
	if !isNull(w.Rating) {
		c.Rating = w.Rating
	}
	for _, op := range w.Operators {
		if op != "" {
			c.Operators = append(c.Operators, string(op))
		}
	}
	events, err := decodeEvents(w.Events, timeField)
	if err != nil {
		return Chat{}, err
	}
	c.Events = events
	return c, nil
}

func decodeEvents(raws []json.RawMessage, timeField string) ([]Event, error) {
	var out []Event
	for i, raw := range raws {
		ev, err := decodeEvent(raw, timeField)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// decodeEvent is lenient about everything an unknown event kind might shape
// differently (type, params) and strict only where a wrong value would mislead:
// a timestamp that is present but unreadable means the configured field or
// format is wrong, and that should surface rather than read as "no time".
func decodeEvent(raw json.RawMessage, timeField string) (Event, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil || top == nil {
		return Event{}, errors.New("event is not a JSON object")
	}
	id, err := opaqueID(top["id"])
	if err != nil {
		return Event{}, fmt.Errorf("event id: %w", err)
	}
	ev := Event{ID: id, Type: stringOf(top["type"])}
	var params map[string]json.RawMessage
	if json.Unmarshal(top["params"], &params) == nil && len(params) > 0 {
		ev.Params = params
		ev.Text = stringOf(params["text"])
		ev.OperatorID = stringOf(params["operatorId"])
		ev.BotID = stringOf(params["botId"])
		ev.BotName = stringOf(params["botName"])
	}
	if ts := top[timeField]; !isNull(ts) {
		var s string
		if err := json.Unmarshal(ts, &s); err != nil {
			return Event{}, fmt.Errorf("event %q field %q is not a string", id, timeField)
		}
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return Event{}, fmt.Errorf("event %q field %q: %w", id, timeField, err)
		}
		ev.At = at
	}
	return ev, nil
}

// opaqueID turns a JSON string or number into a string; absent or null is "".
// Numbers keep their literal text so that large ids do not lose digits.
func opaqueID(b json.RawMessage) (string, error) {
	if isNull(b) {
		return "", nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s, nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		return n.String(), nil
	}
	return "", errors.New("must be a string or a number")
}

// stringOf returns b's value when it is a JSON string, else "".
func stringOf(b json.RawMessage) string {
	var s string
	if json.Unmarshal(b, &s) != nil {
		return ""
	}
	return s
}

func isNull(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}
