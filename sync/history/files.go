package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultRetention is how long Files keeps entries.
const DefaultRetention = 90 * 24 * time.Hour

// Files keeps entries as JSON lines, one file per employee and month
// (DIR/<staff>/2026-12.jsonl, 0600): a query reads only the asking
// employee's few files, and whole months age out by removing a file.
// Transitions are rare (a few an hour per employee), so each append opens,
// writes and closes its file rather than holding thousands open.
type Files struct {
	dir       string
	retention time.Duration
	now       func() time.Time

	mu        sync.Mutex
	lastPrune time.Time
}

// OpenFiles keeps entries under dir for retention (DefaultRetention if 0);
// now is the clock used to age them out.
func OpenFiles(dir string, retention time.Duration, now func() time.Time) (*Files, error) {
	if retention <= 0 {
		retention = DefaultRetention
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the history directory: %w", err)
	}
	return &Files{dir: dir, retention: retention, now: now}, nil
}

func monthFile(dir string, staff int64, at time.Time) string {
	return filepath.Join(dir, strconv.FormatInt(staff, 10), at.UTC().Format("2006-01")+".jsonl")
}

// Append records e in its employee's file for e's month.
func (s *Files) Append(e Entry) error {
	if e.Staff <= 0 {
		return fmt.Errorf("history entry without a staff id")
	}
	e = Clean(e)
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding a history entry: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	path := monthFile(s.dir, e.Staff, e.At)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the history directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening the history file: %w", err)
	}
	// A line torn by a crash must not swallow this one.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the history: %w", err)
	}
	if now := s.now(); now.Sub(s.lastPrune) >= time.Hour {
		s.lastPrune = now
		s.pruneLocked(now)
	}
	return nil
}

// pruneLocked removes month files whose whole month is older than the
// retention. Errors are ignored: the next prune tries again.
func (s *Files) pruneLocked(now time.Time) {
	cutoff := now.Add(-s.retention)
	staffDirs, _ := os.ReadDir(s.dir)
	for _, sd := range staffDirs {
		if !sd.IsDir() {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(s.dir, sd.Name()))
		for _, f := range files {
			month, err := time.Parse("2006-01", strings.TrimSuffix(f.Name(), ".jsonl"))
			if err != nil {
				continue
			}
			if month.AddDate(0, 1, 0).Before(cutoff) {
				_ = os.Remove(filepath.Join(s.dir, sd.Name(), f.Name()))
			}
		}
	}
}

// Query returns staff's entries after after (exclusive) and within the
// retention, oldest first.
func (s *Files) Query(staff int64, after time.Time, limit int) ([]Entry, bool, error) {
	cutoff := s.now().Add(-s.retention)
	if after.Before(cutoff) {
		after = cutoff
	}
	dir := filepath.Join(s.dir, strconv.FormatInt(staff, 10))
	names, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the history: %w", err)
	}
	var months []string
	firstMonth := after.UTC().Format("2006-01")
	for _, n := range names {
		m := strings.TrimSuffix(n.Name(), ".jsonl")
		if m != n.Name() && m >= firstMonth {
			months = append(months, m)
		}
	}
	slices.Sort(months)
	pg := page{staff: staff, after: after, limit: limit}
	for _, m := range months {
		entries, err := readMonth(filepath.Join(dir, m+".jsonl"))
		if err != nil {
			return nil, false, err
		}
		for _, e := range entries {
			if pg.add(e) {
				return pg.out, true, nil
			}
		}
	}
	return pg.out, false, nil
}

// readMonth reads one file in time order; a damaged line (a crash in the
// middle of an append) is skipped rather than hiding the rest.
func readMonth(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the history: %w", err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) == nil && !e.At.IsZero() {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the history %s: %w", path, err)
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return a.At.Compare(b.At) })
	return out, nil
}

// Close does nothing: no file stays open between calls.
func (s *Files) Close() error { return nil }
