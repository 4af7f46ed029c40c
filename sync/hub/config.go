package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/omnitray/omnitray/internal/jsonduration"
	"github.com/omnitray/omnitray/sync/handover"
)

// Duration is a time.Duration written as a Go duration string in JSON ("90s").
type Duration = jsonduration.Duration

// FileConfig is the hub's config file (--config). Everything is optional.
type FileConfig struct {
	// Links maps Omnidesk staff ids to Chaport operator ids; staff not listed
	// are linked by e-mail, once, and then pinned (links.go).
	Links map[string]string `json:"links,omitempty"`
	// ChatAccess says which custom Omnidesk statuses give access to active
	// chats (the API does not expose it). 1 always has access; 2 and 3 never.
	ChatAccess map[string]bool `json:"chat_access,omitempty"`
	// BudgetShare is the part of the account's per-minute Omnidesk budget the
	// hub may use (default 0.25), leaving the rest to other integrations.
	BudgetShare float64 `json:"budget_share,omitempty"`
	// MinPollInterval keeps a large budget from turning into a hammering
	// poller (default 2s).
	MinPollInterval Duration `json:"min_poll_interval,omitempty"`
	// CatalogueRefresh is how often the status catalogue is re-read (10m).
	CatalogueRefresh Duration `json:"catalogue_refresh,omitempty"`
	// OperatorRefresh is how often Chaport operators are re-read for links (10m).
	OperatorRefresh Duration `json:"operator_refresh,omitempty"`
	// MaxLease caps the TTL an agent may ask for (default 10m).
	MaxLease Duration `json:"max_lease,omitempty"`
	// GraceAllowance is the longest an agent may keep its operator online
	// (extend_online) after chat access ended: its grace delay plus a "stay
	// online" (default 10m).
	GraceAllowance Duration `json:"grace_allowance,omitempty"`
	// HistoryRetention is how long the employees' status history is kept
	// (default 90 days, at most 400).
	HistoryRetention Duration `json:"history_retention,omitempty"`
	// OmnideskPublicURL is what agents open for "Open Omnidesk" (default: the API URL).
	OmnideskPublicURL string `json:"omnidesk_public_url,omitempty"`
	Chaport           struct {
		StatusField    string `json:"status_field,omitempty"`
		TTLField       string `json:"ttl_field,omitempty"`
		UntilField     string `json:"until_field,omitempty"`
		EventTimeField string `json:"event_time_field,omitempty"`
	} `json:"chaport,omitzero"`
	// Limits bound what one employee's token can make the hub do.
	Limits LimitsConfig `json:"limits,omitzero"`
	// Chats tunes the Chaport chat watcher (bot → human hand-overs).
	Chats    handover.Config `json:"chats,omitzero"`
	Omnidesk struct {
		StatusWrite struct {
			Method string `json:"method,omitempty"`
			Path   string `json:"path,omitempty"`
			Field  string `json:"field,omitempty"`
		} `json:"status_write,omitzero"`
	} `json:"omnidesk,omitzero"`
}

// LoadFile reads and checks a config file; a missing path means defaults.
func LoadFile(path string) (FileConfig, error) {
	var fc FileConfig
	if path == "" {
		return fc.withDefaults(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fc, fmt.Errorf("reading config: %w", err)
	}
	fc, err = ParseFile(data)
	if err != nil {
		return fc, fmt.Errorf("config %s: %w", path, err)
	}
	return fc, nil
}

// ParseFile decodes a config file strictly: unknown keys are typos, and a
// typo in a link or mapping would silently misroute someone's status.
func ParseFile(data []byte) (FileConfig, error) {
	var fc FileConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return fc, configError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := lineCol(data, dec.InputOffset())
		return fc, fmt.Errorf("line %d, column %d: more after the JSON object (one object per file)", line, col)
	}
	for k := range fc.Links {
		if _, err := parseID(k); err != nil {
			return fc, fmt.Errorf("links: staff id %q: %w", k, err)
		}
		if fc.Links[k] == "" {
			return fc, fmt.Errorf("links: staff %s has an empty operator id", k)
		}
	}
	for k := range fc.ChatAccess {
		if _, err := parseID(k); err != nil {
			return fc, fmt.Errorf("chat_access: status id %q: %w", k, err)
		}
	}
	if fc.BudgetShare < 0 || fc.BudgetShare > 1 {
		return fc, fmt.Errorf("budget_share: want a number between 0 and 1, got %v", fc.BudgetShare)
	}
	fc = fc.withDefaults()
	if err := fc.Chats.Check(); err != nil {
		return fc, fmt.Errorf("chats: %w", err)
	}
	if r := time.Duration(fc.HistoryRetention); r < time.Hour || r > 400*24*time.Hour {
		return fc, fmt.Errorf("history_retention %v must be between 1h and 9600h (400 days)", r)
	}
	if err := fc.Limits.check(); err != nil {
		return fc, fmt.Errorf("limits: %w", err)
	}
	return fc, nil
}

// parseID reads an id key. Only the plain decimal form is accepted: "01"
// or "+1" would name the same id as "1" and make two entries disagree.
func parseID(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("not a positive integer in plain decimal")
	}
	return n, nil
}

func (fc FileConfig) withDefaults() FileConfig {
	if fc.BudgetShare == 0 {
		fc.BudgetShare = 0.25
	}
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&fc.MinPollInterval, 2*time.Second)
	def(&fc.CatalogueRefresh, 10*time.Minute)
	def(&fc.OperatorRefresh, 10*time.Minute)
	def(&fc.MaxLease, 10*time.Minute)
	def(&fc.GraceAllowance, 10*time.Minute)
	def(&fc.HistoryRetention, 90*24*time.Hour)
	fc.Chats = fc.Chats.WithDefaults()
	fc.Limits = fc.Limits.withDefaults()
	return fc
}

// chatAccess returns the configured access of custom statuses by id.
func (fc FileConfig) chatAccess() map[int64]bool {
	out := make(map[int64]bool, len(fc.ChatAccess))
	for k, v := range fc.ChatAccess {
		id, _ := parseID(k) // checked in ParseFile
		out[id] = v
	}
	return out
}

// links returns the configured staff → operator links by id.
func (fc FileConfig) links() map[int64]string {
	out := make(map[int64]string, len(fc.Links))
	for k, v := range fc.Links {
		id, _ := parseID(k)
		out[id] = v
	}
	return out
}
