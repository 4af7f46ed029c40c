package omnidesk

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
	service = "omnidesk"
	// maxLimit is the documented page-size ceiling; larger values are capped
	// server-side anyway, so asking for more would only confuse paging.
	maxLimit = 100
	// maxPages bounds AllStaff (50 000 staff) so a misbehaving server cannot
	// make it spin and burn the account-wide rate budget.
	maxPages       = 500
	defaultTimeout = 10 * time.Second
)

// Config configures a Client.
type Config struct {
	// BaseURL is the account URL, e.g. "https://acme.omnidesk.ru"; "/api" is
	// appended unless it is already there.
	BaseURL string
	// Email and APIKey are the HTTP Basic credentials (staff email as user).
	Email, APIKey string
	HTTPClient    *http.Client  // nil means http.DefaultClient
	Timeout       time.Duration // per request; default 10s
	StatusWrite   StatusWrite
}

// String redacts the API key, so a logged Config does not leak it.
func (c Config) String() string {
	key := ""
	if c.APIKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("omnidesk.Config{BaseURL:%q Email:%q APIKey:%s Timeout:%s StatusWrite:%+v}",
		c.BaseURL, c.Email, key, c.Timeout, c.StatusWrite)
}

// GoString redacts the API key for %#v too.
func (c Config) GoString() string { return c.String() }

// StatusWrite says how SetStaffStatus sends a status switch. No such endpoint
// is documented, so this is configuration rather than code: when the live
// service turns out to want something else, only the config changes.
type StatusWrite struct {
	Method string // default "PUT"
	Path   string // relative to /api, must contain "{id}"; default "/staff/{id}.json"
	Field  string // key inside {"staff": {...}}; default "status_id"
}

func (w StatusWrite) withDefaults() (StatusWrite, error) {
	if w.Method == "" {
		w.Method = http.MethodPut
	}
	w.Method = strings.ToUpper(w.Method)
	switch w.Method {
	case http.MethodPut, http.MethodPost, http.MethodPatch:
	default:
		return w, fmt.Errorf("status write method %q: want PUT, POST or PATCH", w.Method)
	}
	if w.Path == "" {
		w.Path = "/staff/{id}.json"
	}
	if !strings.HasPrefix(w.Path, "/") {
		w.Path = "/" + w.Path
	}
	// Without the id in the path the write would not say whose status to
	// change, and might change the API key owner's instead.
	if !strings.Contains(w.Path, "{id}") {
		return w, fmt.Errorf("status write path %q must contain {id}", w.Path)
	}
	if w.Field == "" {
		w.Field = "status_id"
	}
	return w, nil
}

// Client talks to one Omnidesk account. It is safe for concurrent use.
type Client struct {
	api    *vendorapi.Client
	write  StatusWrite
	limits *limits
}

// New checks cfg and returns a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	base, err := vendorapi.ParseBase(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("omnidesk: %w", err)
	}
	if !strings.HasSuffix(base.Path, "/api") {
		base.Path += "/api"
	}
	if strings.TrimSpace(cfg.Email) == "" {
		return nil, errors.New("omnidesk: staff email is required")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("omnidesk: API key is required")
	}
	write, err := cfg.StatusWrite.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("omnidesk: %w", err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	lim := &limits{now: time.Now}
	// The credentials live only in this closure, not in a struct field, so
	// printing a Client with %+v cannot reveal them.
	email, key := cfg.Email, cfg.APIKey
	api := &vendorapi.Client{
		Service:          service,
		Base:             base,
		HTTP:             cfg.HTTPClient,
		Timeout:          timeout,
		Authorize:        func(r *http.Request) { r.SetBasicAuth(email, key) },
		Classify:         classify,
		RetryAfterHeader: headerRetryAfter,
		Observe:          lim.observe,
	}
	return &Client{api: api, write: write, limits: lim}, nil
}

// Limits returns the rate-limit figures from the last response that had them.
func (c *Client) Limits() RateLimit { return c.limits.get() }

// ListStaff fetches one page of staff. page below 1 means 1; limit outside
// 1..100 means 100.
func (c *Client) ListStaff(ctx context.Context, page, limit int) (StaffPage, error) {
	p, _, err := c.listStaff(ctx, page, limit)
	return p, err
}

func (c *Client) listStaff(ctx context.Context, page, limit int) (StaffPage, bool, error) {
	if page < 1 {
		page = 1
	}
	if limit < 1 || limit > maxLimit {
		limit = maxLimit
	}
	q := url.Values{"page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(limit)}}
	resp, err := c.api.Do(ctx, vendorapi.Request{Method: http.MethodGet, Path: "/staff.json", Query: q})
	if err != nil {
		return StaffPage{}, false, fmt.Errorf("listing staff page %d: %w", page, err)
	}
	staff, total, hasTotal, err := decodeList[Staff](resp.Body, "staff", "total_count")
	if err != nil {
		return StaffPage{}, false, fmt.Errorf("decoding staff list page %d: %w: %w", page, vendorapi.ErrBadResponse, err)
	}
	return StaffPage{Staff: staff, TotalCount: total}, hasTotal, nil
}

// AllStaff fetches every page of staff, 100 at a time, in server order. A
// person who moves between pages while paging is reported once.
func (c *Client) AllStaff(ctx context.Context) ([]Staff, error) {
	var all []Staff
	seen := make(map[int64]bool)
	for page := 1; page <= maxPages; page++ {
		p, hasTotal, err := c.listStaff(ctx, page, maxLimit)
		if err != nil {
			return nil, err
		}
		added := 0
		for _, s := range p.Staff {
			if !seen[s.ID] {
				seen[s.ID] = true
				all = append(all, s)
				added++
			}
		}
		if len(p.Staff) < maxLimit || (hasTotal && len(all) >= p.TotalCount) {
			return all, nil
		}
		// A full page of people we already have means the server ignores
		// "page"; going on would repeat it until the page cap.
		if added == 0 {
			return nil, fmt.Errorf("listing staff page %d: %w: server repeated an earlier page (paging ignored?)",
				page, vendorapi.ErrBadResponse)
		}
	}
	return nil, fmt.Errorf("listing staff: %w: more than %d pages", vendorapi.ErrBadResponse, maxPages)
}

// GetStaff fetches one staff member, the cheapest way to poll one status.
func (c *Client) GetStaff(ctx context.Context, id int64) (Staff, error) {
	if id <= 0 {
		return Staff{}, fmt.Errorf("getting staff %d: %w: id must be positive", id, vendorapi.ErrBadRequest)
	}
	resp, err := c.api.Do(ctx, vendorapi.Request{Method: http.MethodGet, Path: staffPath(id)})
	if err != nil {
		return Staff{}, fmt.Errorf("getting staff %d: %w", id, err)
	}
	var body struct {
		Staff *Staff `json:"staff"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return Staff{}, fmt.Errorf("decoding staff %d: %w: %w", id, vendorapi.ErrBadResponse, err)
	}
	if body.Staff == nil {
		return Staff{}, fmt.Errorf("decoding staff %d: %w: no \"staff\" key", id, vendorapi.ErrBadResponse)
	}
	return *body.Staff, nil
}

// StaffStatuses fetches the status catalogue: the three standard statuses
// (1 online, 2 offline, 3 without chats) and any custom ones.
func (c *Client) StaffStatuses(ctx context.Context) ([]StaffStatus, error) {
	resp, err := c.api.Do(ctx, vendorapi.Request{Method: http.MethodGet, Path: "/staff_statuses.json"})
	if err != nil {
		return nil, fmt.Errorf("listing staff statuses: %w", err)
	}
	statuses, _, _, err := decodeList[StaffStatus](resp.Body, "staff_statuses", "count")
	if err != nil {
		return nil, fmt.Errorf("decoding staff statuses: %w: %w", vendorapi.ErrBadResponse, err)
	}
	return statuses, nil
}

// SetStaffStatus switches a staff member's status as Config.StatusWrite says.
// Whether the live service honours it is unconfirmed; a refusal comes back as
// a *vendorapi.Error (typically ErrBadRequest or ErrForbidden) with the
// server's message. A 2xx proves nothing: the service may ignore a field it
// does not know. So it returns the staff record when the reply carries one
// with a status_id, for the caller to check, and nil when it does not (the
// documented update reply has no status fields), for the caller to read the
// staff member back. A reply it cannot decode also gives nil: the write was
// accepted, and only a read-back can say what it did.
func (c *Client) SetStaffStatus(ctx context.Context, id, statusID int64) (*Staff, error) {
	if id <= 0 || statusID <= 0 {
		return nil, fmt.Errorf("setting status of staff %d to %d: %w: ids must be positive", id, statusID, vendorapi.ErrBadRequest)
	}
	path := strings.ReplaceAll(c.write.Path, "{id}", strconv.FormatInt(id, 10))
	body := map[string]map[string]int64{"staff": {c.write.Field: statusID}}
	resp, err := c.api.Do(ctx, vendorapi.Request{Method: c.write.Method, Path: path, Body: body})
	if err != nil {
		return nil, fmt.Errorf("setting status of staff %d to %d: %w", id, statusID, err)
	}
	return writtenStaff(resp.Body, id), nil
}

// writtenStaff is the staff record in a write's reply, if it names this
// staff member (or no one) and carries a status_id; else nil.
func writtenStaff(body []byte, id int64) *Staff {
	var probe struct {
		Staff *struct {
			ID       *int64          `json:"staff_id"`
			StatusID json.RawMessage `json:"status_id"`
		} `json:"staff"`
	}
	if json.Unmarshal(body, &probe) != nil || probe.Staff == nil || len(probe.Staff.StatusID) == 0 ||
		string(probe.Staff.StatusID) == "null" || (probe.Staff.ID != nil && *probe.Staff.ID != id) {
		return nil
	}
	var full struct {
		Staff Staff `json:"staff"`
	}
	if json.Unmarshal(body, &full) != nil || full.Staff.StatusID <= 0 {
		return nil
	}
	full.Staff.ID = id
	return &full.Staff
}

func staffPath(id int64) string { return "/staff/" + strconv.FormatInt(id, 10) + ".json" }
