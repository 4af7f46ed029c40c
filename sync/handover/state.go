package handover

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/omnitray/omnitray/internal/atomicfile"
)

const (
	// maxRememberedChats caps the chat records; the least recently seen go
	// first. It is five times the largest visitors_per_poll, so a chat still
	// in the watched window is never forgotten (and so never re-announced).
	maxRememberedChats = 5000
	chatStateVersion   = 1
)

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
