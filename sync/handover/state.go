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

// StateStore keeps the watcher's memory of chats between runs: a file on a
// lone hub (FileStore), the cluster's shared state on a hub replica, so that
// the next leader's watcher starts where the last one stopped and announces
// nothing twice. The watcher calls it from its one goroutine only.
type StateStore interface {
	// Load returns what was last saved; (nil, nil) when nothing was saved yet.
	Load() ([]byte, error)
	// Save replaces what was saved.
	Save([]byte) error
}

// FileStore keeps the state in the file at path, replaced atomically and
// readable by its owner only; a missing file is nothing saved yet.
func FileStore(path string) StateStore { return fileStore(path) }

type fileStore string

func (f fileStore) Load() ([]byte, error) {
	data, err := os.ReadFile(string(f))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err // os errors name the file
	}
	return data, nil
}

func (f fileStore) Save(data []byte) error { return atomicfile.Write(string(f), data, 0o600) }

// String names the file in the watcher's errors.
func (f fileStore) String() string { return string(f) }

// chatState is the watcher's memory of chats. Only the watcher goroutine
// touches it.
type chatState struct {
	store StateStore // nil: memory only
	cap   int
	chats map[int64]*chatRecord
	seq   uint64
	dirty bool // changed since the last save
}

type chatStateFile struct {
	Version int                   `json:"version"`
	Chats   map[int64]*chatRecord `json:"chats"`
}

func newChatState(store StateStore) *chatState {
	return &chatState{store: store, cap: maxRememberedChats, chats: map[int64]*chatRecord{}}
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

// load reads the saved state. Nothing saved is a first start; anything
// unreadable is returned so the caller can warn and start empty.
func (s *chatState) load() error {
	if s.store == nil {
		return nil
	}
	data, err := s.store.Load()
	if err != nil {
		return fmt.Errorf("reading chat state: %w", err)
	}
	if data == nil {
		return nil
	}
	var f chatStateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("parsing chat state%s: %w", s.where(), err)
	}
	if f.Version != chatStateVersion {
		return fmt.Errorf("chat state%s has version %d, want %d", s.where(), f.Version, chatStateVersion)
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

// where names the store in errors, " path" for a file, so that an operator
// knows which one to look at.
func (s *chatState) where() string {
	if n, ok := s.store.(fmt.Stringer); ok {
		return " " + n.String()
	}
	return ""
}

// save writes the state if it changed since the last save.
func (s *chatState) save() error {
	if s.store == nil || !s.dirty {
		return nil
	}
	data, err := json.Marshal(chatStateFile{Version: chatStateVersion, Chats: s.chats})
	if err != nil {
		return fmt.Errorf("encoding chat state: %w", err)
	}
	if err := s.store.Save(data); err != nil {
		return fmt.Errorf("saving chat state: %w", err)
	}
	s.dirty = false
	return nil
}
