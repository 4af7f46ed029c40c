package handover

import (
	"fmt"
	"time"

	"github.com/omnitray/omnitray/internal/jsonduration"
)

// Config is the "chats" section of the hub's config file (sync/hub's
// FileConfig.Chats): how the hub watches Chaport for chats a bot hands over
// to a human. The event type strings are config because the real ones are
// unconfirmed (docs/vendor-contract.md); the defaults are the best guesses
// the sandbox also uses.
//
//	"chats": {"enabled": true, "poll_interval": "10s", "visitors_per_poll": 20,
//	  "bot_event_types": ["bot-message"], "handover_event_types": ["operator-joined"],
//	  "operator_event_types": ["operator-message"], "visitor_event_types": ["visitor-message"],
//	  "max_pushes_per_poll": 40, "state_file": ""}
type Config struct {
	// Enabled turns the watcher off with false (default true).
	Enabled *bool `json:"enabled,omitempty"`
	// PollInterval is the pause between polls (default 10s, at least 1s).
	PollInterval jsonduration.Duration `json:"poll_interval,omitempty"`
	// VisitorsPerPoll is how many visitors, newest chat first, each poll
	// looks at, following links.next past page 1 when needed (default 20,
	// at most 1000). Chats further down are not watched.
	VisitorsPerPoll int `json:"visitors_per_poll,omitempty"`
	// The event types of each kind; types in no list are ignored and logged
	// once. Hand-over types are operator assignments (params.operatorId).
	BotEventTypes      []string `json:"bot_event_types,omitempty"`
	HandoverEventTypes []string `json:"handover_event_types,omitempty"`
	OperatorEventTypes []string `json:"operator_event_types,omitempty"`
	VisitorEventTypes  []string `json:"visitor_event_types,omitempty"`
	// MaxPushesPerPoll caps the chat messages one agent gets per poll
	// (default 40, at most 50), below the feed's send queue of 64 frames, so
	// that a flood of hand-overs never disconnects an agent as too slow.
	MaxPushesPerPoll int `json:"max_pushes_per_poll,omitempty"`
	// StateFile keeps what was announced across restarts; "" keeps it in
	// memory only. A store the hub passes in (Env.State, the cluster's
	// shared state) takes its place.
	StateFile string `json:"state_file,omitempty"`
}

// maxVisitorsPerPoll keeps every watched chat well inside the remembered
// set (maxRememberedChats), so that none is forgotten and re-announced.
const maxVisitorsPerPoll = 1000

// WithDefaults fills in what the file left out.
func (c Config) WithDefaults() Config {
	if c.Enabled == nil {
		on := true
		c.Enabled = &on
	}
	if c.PollInterval == 0 {
		c.PollInterval = jsonduration.Duration(10 * time.Second)
	}
	if c.VisitorsPerPoll == 0 {
		c.VisitorsPerPoll = 20
	}
	if c.MaxPushesPerPoll == 0 {
		c.MaxPushesPerPoll = 40
	}
	def := func(l *[]string, v string) {
		if len(*l) == 0 {
			*l = []string{v}
		}
	}
	def(&c.BotEventTypes, "bot-message")
	def(&c.HandoverEventTypes, "operator-joined")
	def(&c.OperatorEventTypes, "operator-message")
	def(&c.VisitorEventTypes, "visitor-message")
	return c
}

// On says whether the watcher runs (enabled is true or left out).
func (c Config) On() bool { return c.Enabled == nil || *c.Enabled }

// Check validates a defaulted section; a type in two lists would make its
// meaning depend on the order of the checks. The hub prefixes its errors
// with "chats: ".
func (c Config) Check() error {
	if time.Duration(c.PollInterval) < time.Second {
		return fmt.Errorf("poll_interval %v is under 1s", time.Duration(c.PollInterval))
	}
	if c.VisitorsPerPoll < 1 || c.VisitorsPerPoll > maxVisitorsPerPoll {
		return fmt.Errorf("visitors_per_poll %d must be between 1 and %d", c.VisitorsPerPoll, maxVisitorsPerPoll)
	}
	if c.MaxPushesPerPoll < 1 || c.MaxPushesPerPoll > 50 {
		return fmt.Errorf("max_pushes_per_poll %d must be between 1 and 50", c.MaxPushesPerPoll)
	}
	seen := map[string]string{}
	for _, l := range []struct {
		key   string
		types []string
	}{{"bot_event_types", c.BotEventTypes}, {"handover_event_types", c.HandoverEventTypes},
		{"operator_event_types", c.OperatorEventTypes}, {"visitor_event_types", c.VisitorEventTypes}} {
		for _, t := range l.types {
			if t == "" {
				return fmt.Errorf("%s has an empty type", l.key)
			}
			if other, dup := seen[t]; dup {
				return fmt.Errorf("event type %q is in both %s and %s", t, other, l.key)
			}
			seen[t] = l.key
		}
	}
	return nil
}
