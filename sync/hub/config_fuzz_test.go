package hub

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseFile fuzzes the hub's config file parser. It must never panic, and
// a config it accepts must
//   - be one JSON value and nothing else (the parser promises to refuse
//     trailing data);
//   - have every default filled: budget_share in (0, 1], every duration
//     above zero, and a chats section that passes its own check;
//   - name each staff id in links and each status id in chat_access once,
//     so that links() and chatAccess() do not depend on map order;
//   - re-marshal to JSON that parses again to the same value.
//
// Seeds are in testdata/fuzz/FuzzParseFile.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(`{"links": {"201": "59747c3ff77948220136b7b3"}, "chat_access": {"130001": true}, "budget_share": 0.25, "grace_allowance": "10m"}`))
	f.Add([]byte(`{"chats": {"enabled": true, "poll_interval": "10s", "visitors_per_poll": 20, "bot_event_types": ["bot-message"], "handover_event_types": ["operator-joined"], "operator_event_types": ["operator-message"], "visitor_event_types": ["visitor-message"], "max_pushes_per_poll": 40, "state_file": ""}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fc, err := ParseFile(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted %q, which is not one JSON value", data)
		}
		checkDefaults(t, fc)
		if l := fc.links(); len(l) != len(fc.Links) {
			t.Fatalf("links %v name %d staff ids, not %d: %v", fc.Links, len(l), len(fc.Links), l)
		}
		if a := fc.chatAccess(); len(a) != len(fc.ChatAccess) {
			t.Fatalf("chat_access %v names %d status ids, not %d: %v", fc.ChatAccess, len(a), len(fc.ChatAccess), a)
		}
		out, err := json.Marshal(fc)
		if err != nil {
			t.Fatalf("accepted config %+v does not marshal: %v", fc, err)
		}
		fc2, err := ParseFile(out)
		if err != nil {
			t.Fatalf("re-marshalled config %s refused: %v", out, err)
		}
		out2, err := json.Marshal(fc2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the config:\n%s\n%s (%v)", out, out2, err)
		}
		// An empty map is left out on marshal and comes back nil; otherwise
		// the values must be identical.
		if len(fc.Links) == 0 {
			fc.Links = nil
		}
		if len(fc.ChatAccess) == 0 {
			fc.ChatAccess = nil
		}
		if !reflect.DeepEqual(fc, fc2) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", fc, fc2)
		}
	})
}

func checkDefaults(t *testing.T, fc FileConfig) {
	t.Helper()
	if !(fc.BudgetShare > 0 && fc.BudgetShare <= 1) {
		t.Fatalf("budget_share %v outside (0, 1]", fc.BudgetShare)
	}
	for name, d := range map[string]Duration{
		"min_poll_interval": fc.MinPollInterval, "catalogue_refresh": fc.CatalogueRefresh,
		"operator_refresh": fc.OperatorRefresh, "max_lease": fc.MaxLease,
		"grace_allowance": fc.GraceAllowance, "chats.poll_interval": fc.Chats.PollInterval,
	} {
		if d <= 0 {
			t.Fatalf("%s = %v after defaults", name, d)
		}
	}
	c := fc.Chats
	if c.Enabled == nil || c.VisitorsPerPoll <= 0 || c.MaxPushesPerPoll <= 0 ||
		len(c.BotEventTypes) == 0 || len(c.HandoverEventTypes) == 0 ||
		len(c.OperatorEventTypes) == 0 || len(c.VisitorEventTypes) == 0 {
		t.Fatalf("chats defaults missing: %+v", c)
	}
	if err := c.Check(); err != nil {
		t.Fatalf("accepted chats section fails its check: %v", err)
	}
}
