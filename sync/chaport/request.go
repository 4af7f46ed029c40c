package chaport

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/omnitray/omnitray/sync/vendorapi"
)

// reply is a 2xx reply already unwrapped from its envelope.
type reply struct {
	op     string
	status int
	result json.RawMessage
	links  links // some replies carry links beside "result"
}

func (c *Client) call(ctx context.Context, method, path string, q url.Values, body any) (*reply, error) {
	resp, err := c.api.Do(ctx, vendorapi.Request{Method: method, Path: path, Query: q, Body: body})
	if err != nil {
		return nil, err
	}
	r := &reply{op: method + " " + path, status: resp.StatusCode}
	var env struct {
		Result json.RawMessage `json:"result"`
		Links  links           `json:"links"`
	}
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		return nil, r.fail("envelope", err)
	}
	if isNull(env.Result) {
		e := r.bad()
		e.Message = `reply has no "result"`
		return nil, e
	}
	r.result, r.links = env.Result, env.Links
	return r, nil
}

func (r *reply) decode(what string, v any) error {
	if err := json.Unmarshal(r.result, v); err != nil {
		return r.fail(what, err)
	}
	return nil
}

// fail keeps both the kind (for errors.Is) and the decoder's error (for the log).
func (r *reply) fail(what string, err error) error {
	return fmt.Errorf("decoding %s: %w: %w", what, r.bad(), err)
}

func (r *reply) bad() *vendorapi.Error {
	return &vendorapi.Error{Service: service, Op: r.op, StatusCode: r.status, Kind: vendorapi.ErrBadResponse}
}

// checkID keeps an id to exactly one path segment. The id is not pre-escaped:
// vendorapi puts the path into url.URL.Path, which escapes it once on the wire
// ("?", "%", spaces…), so url.PathEscape here would escape it twice. "/" and
// dot segments are refused because they would address another resource.
func checkID(kind, id string) error {
	switch {
	case id == "":
		return invalid("%s id is empty", kind)
	case strings.Contains(id, "/"):
		return invalid("%s id %q contains a slash", kind, id)
	case id == "." || id == "..":
		return invalid("%s id %q is a dot segment", kind, id)
	}
	return nil
}

func checkChat(visitorID string, chatID int64) error {
	if err := checkID("visitor", visitorID); err != nil {
		return err
	}
	if chatID < 0 {
		return invalid("chat id %d is negative", chatID)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("chaport: %w: "+format, append([]any{vendorapi.ErrBadRequest}, args...)...)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
