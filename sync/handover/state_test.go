package handover

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestChatStateEvictsLeastRecentlySeen(t *testing.T) {
	s := newChatState(nil)
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
	if data, err := FileStore(path).Load(); data != nil || err != nil {
		t.Fatalf("missing file: %q, %v; want nothing saved", data, err)
	}
	s := newChatState(FileStore(path))
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
	back := newChatState(FileStore(path))
	if err := back.load(); err != nil || !reflect.DeepEqual(back.chats, s.chats) || back.seq != s.seq {
		t.Fatalf("reloaded %+v (%v), want %+v", back.chats, err, s.chats)
	}
	for _, bad := range []string{"{not json", `{"version": 99, "chats": {}}`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		broken := newChatState(FileStore(path))
		// The error names the file, for the operator to look at.
		if err := broken.load(); err == nil || !strings.Contains(err.Error(), path) || len(broken.chats) != 0 {
			t.Fatalf("%q: err %v, %d chats", bad, err, len(broken.chats))
		}
	}
}

func TestEnvStateWinsOverStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chats.json")
	shared := &orderStore{sent: func() int { return 0 }}
	cfg := Config{StateFile: path}.WithDefaults()
	if got := New(cfg, Env{State: shared}).state.store; got != shared {
		t.Fatalf("store %v, want Env.State", got)
	}
	if got := New(cfg, Env{}).state.store; got != FileStore(path) {
		t.Fatalf("store %v, want the state file", got)
	}
	if got := New(Config{}.WithDefaults(), Env{}).state.store; got != nil {
		t.Fatalf("store %v, want memory only", got)
	}
}
