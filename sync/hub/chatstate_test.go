package hub

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
)

const opA, opB = "5f1a2b3c4d5e6f7081920a01", "5f1a2b3c4d5e6f7081920a02"

// script turns "v:hi b:hello j:<op> o:<op> x:<type>" into events e1, e2, …
func script(s string) []chaport.Event {
	var out []chaport.Event
	for i, step := range strings.Fields(s) {
		kind, arg, _ := strings.Cut(step, ":")
		ev := chaport.Event{ID: fmt.Sprintf("e%d", i+1)}
		switch kind {
		case "v":
			ev.Type, ev.Text = "visitor-message", arg
		case "b":
			ev.Type, ev.Text, ev.BotName = "bot-message", arg, "Helper Bot"
		case "j":
			ev.Type, ev.OperatorID = "operator-joined", arg
		case "o":
			ev.Type, ev.OperatorID, ev.Text = "operator-message", arg, "Hello"
		case "x":
			ev.Type = arg
		}
		out = append(out, ev)
	}
	return out
}

func TestClassifierAdvance(t *testing.T) {
	ho := func(at int, op string) chatAction { return chatAction{kind: feed.ChatHandover, at: at, operatorID: op} }
	re := func(at int, op string) chatAction {
		return chatAction{kind: feed.ChatOperatorReply, at: at, operatorID: op}
	}
	for _, c := range []struct {
		name    string
		events  string
		want    []chatAction
		unknown []string
	}{
		{"bot only: nothing yet", "v:hi b:hello v:human b:wait", nil, nil},
		{"assignment after bot messages", "v:hi b:hello j:" + opA, []chatAction{ho(2, opA)}, nil},
		{"operator writes after bot, no assignment", "v:hi b:hello o:" + opA, []chatAction{ho(2, opA), re(2, opA)}, nil},
		{"plain human chat is no hand-over", "v:hi o:" + opA + " b:hello j:" + opB + " o:" + opB, nil, nil},
		{"assignment before any bot is routing", "j:" + opA + " v:hi b:hello o:" + opB, []chatAction{ho(3, opB), re(3, opB)}, nil},
		{"reply reported once", "v:hi b:hello j:" + opA + " o:" + opA + " o:" + opA, []chatAction{ho(2, opA), re(3, opA)}, nil},
		{"hand-over to nobody, then someone", "v:hi b:hello j: j:" + opA + " o:" + opA, []chatAction{ho(2, ""), re(4, opA)}, nil},
		{"unknown types ignored", "x:trigger v:hi x:page b:hello x:trigger j:" + opA, []chatAction{ho(5, opA)},
			[]string{"trigger", "page", "trigger"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := newClassifier(ChatsConfig{}.withDefaults())
			var rec chatRecord
			var unknown []string
			evs := script(c.events)
			got := k.advance(&rec, evs, 0, func(typ string) { unknown = append(unknown, typ) })
			if !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(unknown, c.unknown) {
				t.Fatalf("actions %+v unknown %q; want %+v, %q", got, unknown, c.want, c.unknown)
			}
			if rec.LastEventID != evs[len(evs)-1].ID {
				t.Fatalf("last event %q", rec.LastEventID)
			}
			// Playing the same events again announces nothing.
			if again := k.advance(&rec, evs, resumeAt(&rec, evs), func(string) {}); len(again) != 0 {
				t.Fatalf("replay announced %+v", again)
			}
		})
	}
}

func TestClassifierConfiguredTypes(t *testing.T) {
	cfg := ChatsConfig{BotEventTypes: []string{"chatbot-message"}}.withDefaults()
	k := newClassifier(cfg)
	evs := script("v:hi b:hello j:" + opA)
	var unknown []string
	if got := k.advance(&chatRecord{}, evs, 0, func(s string) { unknown = append(unknown, s) }); len(got) != 0 {
		t.Fatalf("bot-message is not configured, yet %+v", got)
	}
	evs[1].Type = "chatbot-message"
	if got := k.advance(&chatRecord{}, evs, 0, func(string) {}); len(got) != 1 {
		t.Fatalf("configured bot type not recognised: %+v", got)
	}
	if !reflect.DeepEqual(unknown, []string{"bot-message"}) {
		t.Fatalf("unknown %q", unknown)
	}
}

func TestResumeAt(t *testing.T) {
	evs := script("v:a b:b v:c")
	for _, c := range []struct {
		rec  chatRecord
		want int
	}{
		{chatRecord{}, 0},
		{chatRecord{LastEventID: "e2"}, 2},
		{chatRecord{LastEventID: "e3"}, 3},
		{chatRecord{LastEventID: "gone"}, 0},
		{chatRecord{LastEventID: "gone", Announced: true}, 3},
	} {
		if got := resumeAt(&c.rec, evs); got != c.want {
			t.Errorf("%+v: %d, want %d", c.rec, got, c.want)
		}
	}
}

func TestTranscriptBounded(t *testing.T) {
	var steps []string
	for i := range 30 {
		steps = append(steps, fmt.Sprintf("v:q%d", i), fmt.Sprintf("b:a%d", i))
	}
	evs := script(strings.Join(steps, " ") + " x:noise v: j:" + opA)
	evs[3].BotName = "Old Bot"
	evs[len(evs)-4].BotName = "Last Bot"
	long := strings.Repeat("жё", 400) // 800 two-byte runes
	evs[len(evs)-5].Text = "  " + long + "  "
	k := newClassifier(ChatsConfig{}.withDefaults())
	lines, bot := k.transcript(evs, len(evs)-1)
	if len(lines) != maxTranscriptLines || bot != "Last Bot" {
		t.Fatalf("%d lines, bot %q", len(lines), bot)
	}
	// The last 20 visitor/bot lines, oldest first; "v:" (empty) and noise skipped.
	if lines[0] != (feed.ChatLine{From: "visitor", Text: "q20"}) || lines[19] != (feed.ChatLine{From: "bot", Text: "a29"}) {
		t.Fatalf("first %+v last %+v", lines[0], lines[19])
	}
	cut := lines[18].Text
	if utf8.RuneCountInString(cut) != maxLineRunes || !utf8.ValidString(cut) || !strings.HasSuffix(cut, "…") ||
		!strings.HasPrefix(long, strings.TrimSuffix(cut, "…")) {
		t.Fatalf("long line cut to %d runes: %q…", utf8.RuneCountInString(cut), cut[:20])
	}
}

func TestCutText(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"  hi  ", 5, "hi"},
		{"hello", 5, "hello"},
		{"hello!", 5, "hell…"},
		{"привет", 3, "пр…"},
		{"a😀b😀c", 4, "a😀b…"},
		{"ab\xffcd", 10, "ab\uFFFDcd"},
		{"ab   cd", 4, "ab…"},
	} {
		if got := cutText(c.in, c.n); got != c.want {
			t.Errorf("cutText(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestChatStateEvictsLeastRecentlySeen(t *testing.T) {
	s := newChatState("")
	s.cap = 3
	for id := range int64(5) {
		s.record(id+1, "v")
	}
	s.touch(s.chats[1]) // seen again: kept
	if n := s.evict(); n != 2 {
		t.Fatalf("evicted %d", n)
	}
	for _, id := range []int64{1, 4, 5} {
		if s.chats[id] == nil {
			t.Fatalf("chat %d evicted; kept %v", id, s.chats)
		}
	}
}

func TestChatStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "chats.json")
	s := newChatState(path)
	if err := s.load(); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	rec := s.record(1001, "v1")
	rec.LastEventID, rec.Announced, rec.HandoverOperator = "e7", true, opA
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	back := newChatState(path)
	if err := back.load(); err != nil || !reflect.DeepEqual(back.chats, s.chats) || back.seq != s.seq {
		t.Fatalf("reloaded %+v (%v), want %+v", back.chats, err, s.chats)
	}
	for _, bad := range []string{"{not json", `{"version": 99, "chats": {}}`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		broken := newChatState(path)
		if err := broken.load(); err == nil || len(broken.chats) != 0 {
			t.Fatalf("%q: err %v, %d chats", bad, err, len(broken.chats))
		}
	}
}

func TestChatsConfig(t *testing.T) {
	fc, err := ParseFile([]byte(`{}`))
	if err != nil || !fc.Chats.enabled() || fc.Chats.VisitorsPerPoll != 20 || fc.Chats.BotEventTypes[0] != "bot-message" {
		t.Fatalf("defaults: %+v, %v", fc.Chats, err)
	}
	fc, err = ParseFile([]byte(`{"chats": {"enabled": false, "bot_event_types": ["chatbot-message", "bot-message"]}}`))
	if err != nil || fc.Chats.enabled() || len(fc.Chats.BotEventTypes) != 2 {
		t.Fatalf("custom: %+v, %v", fc.Chats, err)
	}
	for _, bad := range []string{
		`{"chats": {"bot_event_types": ["operator-message"]}}`,
		`{"chats": {"visitors_per_poll": 5000}}`,
		`{"chats": {"poll_interval": "100ms"}}`,
		`{"chats": {"max_pushes_per_poll": 64}}`,
		`{"chats": {"bot_event_types": [""]}}`,
		`{"chats": {"poll_every": "10s"}}`,
	} {
		if _, err := ParseFile([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
