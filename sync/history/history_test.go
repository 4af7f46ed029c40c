package history

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

func chaport(at time.Duration, from, to string) Entry {
	return Entry{At: t0.Add(at), Staff: 1, Kind: KindChaport, From: from, To: to}
}

func TestOnlineTime(t *testing.T) {
	from, to := t0, t0.Add(8*time.Hour)
	for _, tc := range []struct {
		name    string
		entries []Entry
		atFrom  bool
		want    time.Duration
	}{
		{"nothing, offline", nil, false, 0},
		{"nothing, online all day", nil, true, 8 * time.Hour},
		{"online at 1h, offline at 3h", []Entry{chaport(time.Hour, "offline", "online"), chaport(3*time.Hour, "online", "offline")}, false, 2 * time.Hour},
		{"online from before, offline at 2h", []Entry{chaport(2*time.Hour, "online", "offline")}, false, 2 * time.Hour},
		{"online at 7h, still online", []Entry{chaport(7*time.Hour, "offline", "online")}, false, time.Hour},
		{"omnidesk entries ignored", []Entry{{At: t0.Add(time.Hour), Kind: KindOmnidesk, From: "Офлайн", To: "Онлайн"}}, false, 0},
		{"entries before from ignored", []Entry{chaport(-time.Hour, "offline", "online"), chaport(time.Hour, "online", "offline")}, false, time.Hour},
		{"a renewal (online → online) changes nothing", []Entry{chaport(time.Hour, "offline", "online"), chaport(2*time.Hour, "online", "online"), chaport(4*time.Hour, "online", "offline")}, false, 3 * time.Hour},
	} {
		if got := OnlineTime(tc.entries, from, to, tc.atFrom); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCleanKeepsEntriesOneLineAndBounded(t *testing.T) {
	e := Clean(Entry{Reason: "a\nb\x1b[31m" + strings.Repeat("x", 500), Host: "pc\r\n" + strings.Repeat("é", 100), To: "online"})
	if strings.ContainsAny(e.Reason+e.Host, "\n\r\x1b") {
		t.Fatalf("control characters kept: %q %q", e.Reason, e.Host)
	}
	if n := len([]rune(e.Reason)); n > maxReasonRunes {
		t.Fatalf("reason of %d runes", n)
	}
	if n := len([]rune(e.Host)); n > maxNameRunes {
		t.Fatalf("host of %d runes", n)
	}
}

func testStore(t *testing.T, s Store) {
	t.Helper()
	for i := range 10 {
		staff := int64(1 + i%2) // 1, 2, 1, 2, …
		if err := s.Append(Entry{At: t0.Add(time.Duration(i) * time.Minute), Staff: staff, Kind: KindChaport, To: "online"}); err != nil {
			t.Fatal(err)
		}
	}
	got, more, err := s.Query(1, time.Time{}, 100)
	if err != nil || more || len(got) != 5 {
		t.Fatalf("staff 1: %d entries, more %v, %v", len(got), more, err)
	}
	for _, e := range got {
		if e.Staff != 1 {
			t.Fatalf("another employee's entry answered: %+v", e)
		}
	}
	page, more, _ := s.Query(1, time.Time{}, 2)
	if len(page) != 2 || !more {
		t.Fatalf("first page: %d entries, more %v", len(page), more)
	}
	rest, more, _ := s.Query(1, page[1].At, 100)
	if len(rest) != 3 || more || !rest[0].At.After(page[1].At) {
		t.Fatalf("next page: %+v, more %v", rest, more)
	}
}

func TestMemoryStore(t *testing.T) {
	testStore(t, NewMemory(100))
	m := NewMemory(3)
	for i := range 5 {
		_ = m.Append(Entry{At: t0.Add(time.Duration(i) * time.Second), Staff: 1, To: "x"})
	}
	got, _, _ := m.Query(1, time.Time{}, 10)
	if len(got) != 3 || !got[0].At.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("a ring of 3 after 5 appends kept %+v", got)
	}
}

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	now := t0.Add(time.Hour)
	s, err := OpenFiles(dir, 0, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, s)
	fi, err := os.Stat(filepath.Join(dir, "1", "2026-12.jsonl"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("history file: %v, %v", fi, err)
	}
	// A line torn by a crash does not hide the others.
	f, _ := os.OpenFile(filepath.Join(dir, "1", "2026-12.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString(`{"at":"2026-12-02T10:0`)
	f.Close()
	if err := s.Append(Entry{At: t0.Add(time.Hour), Staff: 1, Kind: KindChaport, To: "offline"}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Query(1, time.Time{}, 100)
	if err != nil || len(got) != 6 {
		t.Fatalf("after a torn line: %d entries, %v (want the 5 before it and the one after)", len(got), err)
	}

	// Months older than the retention are removed, and never answered.
	old := t0.AddDate(0, -4, 0)
	if err := s.Append(Entry{At: old, Staff: 3, To: "online"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Query(3, time.Time{}, 10); len(got) != 0 {
		t.Fatalf("an entry past the retention was answered: %+v", got)
	}
	now = now.Add(2 * time.Hour) // the next append prunes
	_ = s.Append(Entry{At: now, Staff: 3, To: "offline"})
	if _, err := os.Stat(monthFile(dir, 3, old)); !os.IsNotExist(err) {
		t.Fatalf("a month past the retention was kept: %v", err)
	}
}
