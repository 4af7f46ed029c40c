package main

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestResultsRoundTrip(t *testing.T) {
	r := results{"b.x": "1 2 3", "a.y": "", "a.z": "x=y"}
	path := filepath.Join(t.TempDir(), "results.env")
	if err := r.save(path); err != nil {
		t.Fatal(err)
	}
	got, err := loadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip = %v, want %v", got, r)
	}
	var b strings.Builder
	if err := r.write(&b, "a."); err != nil {
		t.Fatal(err)
	}
	if b.String() != "a.y=\na.z=x=y\n" {
		t.Errorf("write(a.) = %q", b.String())
	}
	if _, err := parseResults(strings.NewReader("no equals sign\n")); err == nil {
		t.Error("a line without = was accepted")
	}
}
