package chaport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/omnitray/omnitray/sync/vendorapi"
)

const (
	service        = "chaport"
	apiPath        = "/api/v1"
	defaultTimeout = 10 * time.Second
	// untilLayout keeps the milliseconds and the "Z" the API's own timestamps
	// use; RFC3339Nano would drop trailing zeros and vary the width.
	untilLayout = "2006-01-02T15:04:05.000Z07:00"
)

// Config configures a Client. The field names exist because the vendor's
// docs for the status write were unreadable; see the package doc.
type Config struct {
	BaseURL        string        // e.g. "https://app.chaport.com"; "/api/v1" is appended unless present
	Token          string        // sent as "Authorization: Bearer <token>"
	HTTPClient     *http.Client  // nil means a client of our own
	Timeout        time.Duration // per call; 0 means 10s
	StatusField    string        // status write: status field, default "status"
	TTLField       string        // status write: lease in whole seconds, default "ttl"
	UntilField     string        // status write: expiry time, default "validUntil"
	EventTimeField string        // event timestamp field, default "createdAt"
}

// Client calls one Chaport account. It is safe for concurrent use.
type Client struct {
	api            *vendorapi.Client
	statusField    string
	ttlField       string
	untilField     string
	eventTimeField string
}

// New checks cfg and returns a client. It makes no request.
func New(cfg Config) (*Client, error) {
	base, err := vendorapi.ParseBase(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("chaport: %w", err)
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, errors.New("chaport: base URL must not have a query or fragment")
	}
	if !strings.HasSuffix(base.Path, apiPath) {
		base.Path += apiPath
		base.RawPath = ""
	}
	if cfg.Token == "" {
		return nil, errors.New("chaport: token is required")
	}
	// A stray newline from a secrets file would otherwise fail every request
	// with a less obvious error; the token itself is never echoed.
	if strings.ContainsFunc(cfg.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("chaport: token contains whitespace or control characters")
	}
	c := &Client{
		statusField:    or(cfg.StatusField, "status"),
		ttlField:       or(cfg.TTLField, "ttl"),
		untilField:     or(cfg.UntilField, "validUntil"),
		eventTimeField: or(cfg.EventTimeField, "createdAt"),
	}
	if c.statusField == c.ttlField || c.statusField == c.untilField || c.ttlField == c.untilField {
		return nil, errors.New("chaport: status, ttl and until field names must differ")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{} // per-call deadlines come from Timeout via the context
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	token := cfg.Token
	c.api = &vendorapi.Client{
		Service:          service,
		Base:             base,
		HTTP:             hc,
		Timeout:          timeout,
		Authorize:        func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) },
		RetryAfterHeader: "Retry-After",
	}
	return c, nil
}

// Me checks the token. The result's shape is undocumented, so it is returned raw.
func (c *Client) Me(ctx context.Context) (json.RawMessage, error) {
	r, err := c.call(ctx, http.MethodGet, "/me.json", nil, nil)
	if err != nil {
		return nil, err
	}
	return r.result, nil
}

// ListOperators returns every operator of the account (the API does not page them).
func (c *Client) ListOperators(ctx context.Context) ([]Operator, error) {
	r, err := c.call(ctx, http.MethodGet, "/operators", nil, nil)
	if err != nil {
		return nil, err
	}
	var ops []Operator
	if err := r.decode("operators", &ops); err != nil {
		return nil, err
	}
	return ops, nil
}

// GetOperator returns one operator; an unknown id is vendorapi.ErrNotFound.
func (c *Client) GetOperator(ctx context.Context, id string) (Operator, error) {
	if err := checkID("operator", id); err != nil {
		return Operator{}, err
	}
	r, err := c.call(ctx, http.MethodGet, "/operators/"+id, nil, nil)
	if err != nil {
		return Operator{}, err
	}
	var op Operator
	if err := r.decode("operator", &op); err != nil {
		return Operator{}, err
	}
	return op, nil
}

// SetOperatorStatus sets a status that lapses after ttl unless renewed. The API
// counts whole seconds, so ttl is rounded up (a lease never ends early), and a
// ttl under one second is refused rather than silently stretched.
func (c *Client) SetOperatorStatus(ctx context.Context, id string, s Status, ttl time.Duration) (Operator, error) {
	if ttl < time.Second {
		return Operator{}, invalid("status ttl %s is under one second", ttl)
	}
	secs := int64(ttl / time.Second)
	if ttl%time.Second != 0 {
		secs++
	}
	return c.setStatus(ctx, id, s, c.ttlField, secs)
}

// SetOperatorStatusUntil sets a status that lapses at until. Sub-millisecond
// precision is cut, which can only make the lease shorter. A time in the past
// is left for the server to judge.
func (c *Client) SetOperatorStatusUntil(ctx context.Context, id string, s Status, until time.Time) (Operator, error) {
	if until.IsZero() {
		return Operator{}, invalid("status expiry time is zero")
	}
	return c.setStatus(ctx, id, s, c.untilField, until.UTC().Format(untilLayout))
}

func (c *Client) setStatus(ctx context.Context, id string, s Status, field string, value any) (Operator, error) {
	if err := checkID("operator", id); err != nil {
		return Operator{}, err
	}
	if s == "" {
		return Operator{}, invalid("status is empty")
	}
	body := map[string]any{c.statusField: s, field: value}
	r, err := c.call(ctx, http.MethodPost, "/operators/"+id+"/status", nil, body)
	if err != nil {
		return Operator{}, err
	}
	// The reply's shape is unconfirmed; once the server has said 2xx the write
	// happened, so only an operator-shaped result is decoded.
	var op Operator
	if !isObject(r.result) {
		return op, nil
	}
	if err := r.decode("status reply", &op); err != nil {
		return Operator{}, err
	}
	return op, nil
}

// ListVisitors returns one page of visitors, most recent chat first; pages start at 1.
func (c *Client) ListVisitors(ctx context.Context, page int) (VisitorPage, error) {
	if page < 1 {
		return VisitorPage{}, invalid("visitor page %d; pages start at 1", page)
	}
	q := url.Values{"page": {strconv.Itoa(page)}}
	r, err := c.call(ctx, http.MethodGet, "/visitors", q, nil)
	if err != nil {
		return VisitorPage{}, err
	}
	var vs []Visitor
	if err := r.decode("visitors", &vs); err != nil {
		return VisitorPage{}, err
	}
	return VisitorPage{Visitors: vs, Next: r.links.Next}, nil
}

// GetVisitor returns one visitor.
func (c *Client) GetVisitor(ctx context.Context, id string) (Visitor, error) {
	if err := checkID("visitor", id); err != nil {
		return Visitor{}, err
	}
	r, err := c.call(ctx, http.MethodGet, "/visitors/"+id, nil, nil)
	if err != nil {
		return Visitor{}, err
	}
	var v Visitor
	if err := r.decode("visitor", &v); err != nil {
		return Visitor{}, err
	}
	return v, nil
}

// LatestChat returns the visitor's current or latest chat; older ones are in More.
func (c *Client) LatestChat(ctx context.Context, visitorID string) (Chat, error) {
	if err := checkID("visitor", visitorID); err != nil {
		return Chat{}, err
	}
	return c.chat(ctx, "/visitors/"+visitorID+"/chats")
}

// GetChat returns one chat of a visitor.
func (c *Client) GetChat(ctx context.Context, visitorID string, chatID int64) (Chat, error) {
	if err := checkChat(visitorID, chatID); err != nil {
		return Chat{}, err
	}
	return c.chat(ctx, "/visitors/"+visitorID+"/chats/"+strconv.FormatInt(chatID, 10))
}

func (c *Client) chat(ctx context.Context, path string) (Chat, error) {
	r, err := c.call(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return Chat{}, err
	}
	ch, err := decodeChat(r.result, c.eventTimeField)
	if err != nil {
		return Chat{}, r.fail("chat", err)
	}
	if ch.More == nil {
		ch.More = r.links.More // tolerate links beside "result" rather than in it
	}
	return ch, nil
}

// ChatEvents returns all events of a chat, in order. Unknown types are kept.
func (c *Client) ChatEvents(ctx context.Context, visitorID string, chatID int64) ([]Event, error) {
	if err := checkChat(visitorID, chatID); err != nil {
		return nil, err
	}
	path := "/visitors/" + visitorID + "/chats/" + strconv.FormatInt(chatID, 10) + "/events"
	r, err := c.call(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(r.result, &raws); err != nil {
		return nil, r.fail("events", err)
	}
	evs, err := decodeEvents(raws, c.eventTimeField)
	if err != nil {
		return nil, r.fail("events", err)
	}
	return evs, nil
}
