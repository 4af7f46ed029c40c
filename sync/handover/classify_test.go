package handover

import (
	"fmt"
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
			k := newClassifier(Config{}.WithDefaults())
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
	cfg := Config{BotEventTypes: []string{"chatbot-message"}}.WithDefaults()
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
	k := newClassifier(Config{}.WithDefaults())
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
