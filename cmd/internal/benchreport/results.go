package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// results holds every figure by name ("go.write_p99", "idle.tray.rss_kb"),
// as the text the report shows: a benchmark's figure keeps the digits Go
// printed.
type results map[string]string

func (r results) put(key, value string) { r[key] = value }
func (r results) get(key string) string { return r[key] }

// merge copies other's figures into r.
func (r results) merge(other results) {
	for k, v := range other {
		r[k] = v
	}
}

// parseResults reads key=value lines; blank lines are skipped.
func parseResults(in io.Reader) (results, error) {
	r := results{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("parsing results: %q is not key=value", line)
		}
		r[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading results: %w", err)
	}
	return r, nil
}

func loadResults(path string) (results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening results: %w", err)
	}
	defer f.Close()
	return parseResults(f)
}

// write prints the figures whose names start with prefix, sorted by name.
func (r results) write(w io.Writer, prefix string) error {
	keys := make([]string, 0, len(r))
	for k := range r {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := fmt.Fprintf(w, "%s=%s\n", k, r[k]); err != nil {
			return fmt.Errorf("writing results: %w", err)
		}
	}
	return nil
}

// save writes the figures to path atomically, so that a reader never sees
// half a file.
func (r results) save(path string) error {
	var b strings.Builder
	if err := r.write(&b, ""); err != nil {
		return err
	}
	if err := os.WriteFile(path+".tmp", []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("saving results: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("saving results: %w", err)
	}
	return nil
}
