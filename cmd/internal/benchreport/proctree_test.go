package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDescendants(t *testing.T) {
	// 1 ─ 100 (chromium) ─┬ 110 ─ 111
	//                     ├ 105
	//                     └ 120 ─┬ 130
	//                            └ 121
	//   ─ 200 (unrelated) ─ 210
	tree := map[int]int{100: 1, 110: 100, 111: 110, 105: 100, 120: 100, 130: 120, 121: 120, 200: 1, 210: 200}
	for _, tc := range []struct {
		name    string
		parents map[int]int
		root    int
		want    []int
	}{
		{name: "breadth first, each level in pid order", parents: tree, root: 100, want: []int{105, 110, 120, 111, 121, 130}},
		{name: "a leaf", parents: tree, root: 111, want: nil},
		{name: "gone", parents: tree, root: 999, want: nil},
		{name: "a racy snapshot's cycle ends", parents: map[int]int{5: 6, 6: 5}, root: 5, want: []int{6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := descendants(tc.parents, tc.root); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("descendants = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTreeFromProc(t *testing.T) {
	root := t.TempDir()
	stat := func(pid, ppid int, name string) {
		dir := filepath.Join(root, fmt.Sprint(pid))
		os.MkdirAll(dir, 0o755)
		line := fmt.Sprintf("%d (%s) S %d 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0", pid, name, ppid)
		os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644)
	}
	stat(100, 1, "chromium")
	stat(110, 100, "chromium (zygote)")
	stat(120, 110, "chromium) S 1")
	stat(200, 1, "bash")
	os.MkdirAll(filepath.Join(root, "self"), 0o755) // not a pid
	os.MkdirAll(filepath.Join(root, "300"), 0o755)  // ended while listing: no stat
	got, err := procFS{root: root}.tree(100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{100, 110, 120}; !reflect.DeepEqual(got, want) {
		t.Errorf("tree = %v, want %v", got, want)
	}
}

// TestTreeOfThisProcess walks the real /proc from a child this test started.
func TestTreeOfThisProcess(t *testing.T) {
	got, err := sysProc.tree(os.Getppid())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pid := range got {
		found = found || pid == os.Getpid()
	}
	if !found {
		t.Errorf("this process (%d) not below its parent (%d): %v", os.Getpid(), os.Getppid(), got)
	}
}
