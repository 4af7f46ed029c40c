package hub

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/omnitray/omnitray/internal/atomicfile"
	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/feed"
)

// Bounds on what the watcher keeps and sends, whatever Chaport returns.
const (
	// maxRememberedChats caps the chat records; the least recently seen go
	// first. It is five times the largest visitors_per_poll, so a chat still
	// in the watched window is never forgotten (and so never re-announced).
	maxRememberedChats = 5000
	maxTranscriptLines = 20
	maxLineRunes       = 500
	maxNameRunes       = 200
	// maxUnknownTypes bounds the set of unknown event types already logged.
	maxUnknownTypes  = 100
	chatStateVersion = 1
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

func newClassifier(c ChatsConfig) classifier {
	k := classifier{}
	for cls, types := range map[eventClass][]string{classVisitor: c.VisitorEventTypes,
		classBot: c.BotEventTypes, classOperator: c.OperatorEventTypes, classSystem: c.HandoverEventTypes} {
		for _, t := range types {
			k[t] = cls
		}
	}
	return k
}

// chatRecord is what the watcher remembers of one chat, and persists.
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

// chatState is the watcher's memory of chats. Only the watcher goroutine
// touches it.
type chatState struct {
	path  string
	cap   int
	chats map[int64]*chatRecord
	seq   uint64
	dirty bool // changed since the last save
}

type chatStateFile struct {
	Version int                   `json:"version"`
	Chats   map[int64]*chatRecord `json:"chats"`
}

func newChatState(path string) *chatState {
	return &chatState{path: path, cap: maxRememberedChats, chats: map[int64]*chatRecord{}}
}

// record returns the chat's record, creating it, and marks it as just seen.
func (s *chatState) record(chatID int64, visitorID string) *chatRecord {
	rec, ok := s.chats[chatID]
	if !ok {
		rec = &chatRecord{VisitorID: visitorID}
		s.chats[chatID] = rec
		s.dirty = true
	}
	s.touch(rec)
	return rec
}

func (s *chatState) touch(rec *chatRecord) {
	s.seq++
	rec.Seq = s.seq
}

// evict forgets the least recently seen chats beyond the cap.
func (s *chatState) evict() int {
	over := len(s.chats) - s.cap
	if over <= 0 {
		return 0
	}
	ids := make([]int64, 0, len(s.chats))
	for id := range s.chats {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int64) int {
		return cmp.Or(cmp.Compare(s.chats[a].Seq, s.chats[b].Seq), cmp.Compare(a, b))
	})
	for _, id := range ids[:over] {
		delete(s.chats, id)
	}
	s.dirty = true
	return over
}

// load reads the state file. A missing file is a first start; anything
// unreadable is returned so the caller can warn and start empty.
func (s *chatState) load() error {
	if s.path == "" {
		return nil
	}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading chat state: %w", err)
	}
	var f chatStateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("parsing chat state %s: %w", s.path, err)
	}
	if f.Version != chatStateVersion {
		return fmt.Errorf("chat state %s has version %d, want %d", s.path, f.Version, chatStateVersion)
	}
	for id, rec := range f.Chats {
		if rec == nil {
			continue
		}
		s.chats[id] = rec
		s.seq = max(s.seq, rec.Seq)
	}
	s.evict()
	s.dirty = false
	return nil
}

// save writes the state atomically, readable by its owner only.
func (s *chatState) save() error {
	if s.path == "" || !s.dirty {
		return nil
	}
	data, err := json.Marshal(chatStateFile{Version: chatStateVersion, Chats: s.chats})
	if err != nil {
		return fmt.Errorf("encoding chat state: %w", err)
	}
	if err := atomicfile.Write(s.path, data, 0o600); err != nil {
		return fmt.Errorf("saving chat state: %w", err)
	}
	s.dirty = false
	return nil
}
