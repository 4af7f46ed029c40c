package handover

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
)

// The classifier is the pure part of the watcher: what a chat's events mean
// (a bot wrote, an operator took over, the operator replied) given what was
// remembered of the chat, and what a hand-over tells of the conversation
// before it. It reads no file and no network; state.go keeps its records.

// Bounds on what the watcher sends, whatever Chaport returns.
const (
	maxTranscriptLines = 20
	maxLineRunes       = 500
	maxNameRunes       = 200
	// maxUnknownTypes bounds the set of unknown event types already logged.
	maxUnknownTypes = 100
)

// eventClass is what an event type means to the watcher.
type eventClass int

const (
	classUnknown  eventClass = iota
	classVisitor             // the visitor wrote
	classBot                 // a chatbot wrote
	classOperator            // a human operator wrote
	classSystem              // an operator assignment: a hand-over type
)

// classifier maps configured type strings to classes.
type classifier map[string]eventClass

func newClassifier(c Config) classifier {
	k := classifier{}
	for cls, types := range map[eventClass][]string{classVisitor: c.VisitorEventTypes,
		classBot: c.BotEventTypes, classOperator: c.OperatorEventTypes, classSystem: c.HandoverEventTypes} {
		for _, t := range types {
			k[t] = cls
		}
	}
	return k
}

// chatRecord is what the watcher remembers of one chat; state.go persists it.
type chatRecord struct {
	VisitorID   string `json:"visitor_id"`
	LastEventID string `json:"last_event_id,omitempty"`
	// SawBot: a bot wrote before the events after LastEventID.
	SawBot bool `json:"saw_bot,omitempty"`
	// Human: an operator wrote before any bot did, so no hand-over can follow.
	Human            bool   `json:"human,omitempty"`
	Announced        bool   `json:"announced,omitempty"`
	Replied          bool   `json:"replied,omitempty"`
	HandoverOperator string `json:"handover_operator,omitempty"`
	// Seq orders records by when the watcher last saw them, for eviction.
	Seq uint64 `json:"seq"`
}

// chatAction is a message the events call for: a hand-over recognised at
// event index At, or the first operator reply after it.
type chatAction struct {
	kind       string // feed.ChatHandover or feed.ChatOperatorReply
	at         int
	operatorID string
}

// advance applies evs[start:] to rec and says what to announce. It is pure
// apart from unknown, which is told about every type it does not know.
func (k classifier) advance(rec *chatRecord, evs []chaport.Event, start int, unknown func(string)) []chatAction {
	var out []chatAction
	handover := func(i int, op string) {
		rec.Announced, rec.HandoverOperator = true, op
		out = append(out, chatAction{kind: feed.ChatHandover, at: i, operatorID: op})
	}
	for i := start; i < len(evs); i++ {
		ev := evs[i]
		switch k[ev.Type] {
		case classVisitor:
		case classBot:
			rec.SawBot = true
		case classSystem:
			// An assignment before any bot message is routing, not a hand-over.
			if !rec.Announced && !rec.Human && rec.SawBot {
				handover(i, ev.OperatorID)
			}
		case classOperator:
			switch {
			case rec.Human:
			case !rec.Announced && !rec.SawBot:
				rec.Human = true // a plain human chat
			case !rec.Announced:
				// The operator took over without an assignment event. The
				// reply follows at once, so an agent waiting for one stops.
				handover(i, ev.OperatorID)
				fallthrough
			case !rec.Replied:
				rec.Replied = true
				out = append(out, chatAction{kind: feed.ChatOperatorReply, at: i, operatorID: ev.OperatorID})
			}
		default:
			unknown(ev.Type)
		}
	}
	if len(evs) > 0 {
		rec.LastEventID = evs[len(evs)-1].ID
	}
	return out
}

// resumeAt is the index of the first event not yet processed. Ids are
// opaque, so the last one seen is looked up rather than compared. If it is
// gone, an announced chat is skipped to its end (nothing in it may be
// announced twice) and any other chat is read from the start.
func resumeAt(rec *chatRecord, evs []chaport.Event) int {
	if rec.LastEventID == "" {
		return 0
	}
	i := slices.IndexFunc(evs, func(e chaport.Event) bool { return e.ID == rec.LastEventID })
	switch {
	case i >= 0:
		return i + 1
	case rec.Announced:
		return len(evs)
	}
	return 0
}

// transcript is the visitor and bot lines before evs[upto], the last
// maxTranscriptLines of them, oldest first, and the last bot's name.
func (k classifier) transcript(evs []chaport.Event, upto int) (lines []feed.ChatLine, bot string) {
	for i := upto - 1; i >= 0; i-- {
		from := ""
		switch k[evs[i].Type] {
		case classVisitor:
			from = "visitor"
		case classBot:
			from = "bot"
			if bot == "" {
				bot = cutText(cmp.Or(evs[i].BotName, evs[i].BotID), maxNameRunes)
			}
		}
		if from != "" && len(lines) < maxTranscriptLines {
			if text := cutText(evs[i].Text, maxLineRunes); text != "" {
				lines = append(lines, feed.ChatLine{From: from, Text: text})
			}
		}
		if len(lines) == maxTranscriptLines && bot != "" {
			break
		}
	}
	slices.Reverse(lines)
	return lines, bot
}

// cutText trims s and cuts it to at most n runes on a rune boundary, ending
// a cut text with "…". Invalid UTF-8 is replaced, since it cannot be shown.
func cutText(s string, n int) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return strings.TrimSpace(s[:i]) + "…"
}
