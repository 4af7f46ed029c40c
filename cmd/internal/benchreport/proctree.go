package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
)

// descendants lists every process below root, given each process's parent:
// breadth first, each level in pid order.
func descendants(parents map[int]int, root int) []int {
	children := map[int][]int{}
	for pid, ppid := range parents {
		children[ppid] = append(children[ppid], pid)
	}
	var out []int
	queue := []int{root}
	seen := map[int]bool{root: true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		kids := children[p]
		sort.Ints(kids)
		for _, k := range kids {
			if seen[k] { // a cycle cannot happen in /proc, but a racy snapshot must not loop
				continue
			}
			seen[k] = true
			out = append(out, k)
			queue = append(queue, k)
		}
	}
	return out
}

// parents reads every process's parent from /proc: one snapshot, in which
// processes that end while it is taken are left out.
func (p procFS) parents() (map[int]int, error) {
	ents, err := os.ReadDir(p.root)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	out := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := p.stat(pid)
		if err != nil {
			continue
		}
		out[pid] = st.ppid
	}
	return out, nil
}

// tree is root and every process below it, now.
func (p procFS) tree(root int) ([]int, error) {
	parents, err := p.parents()
	if err != nil {
		return nil, err
	}
	return append([]int{root}, descendants(parents, root)...), nil
}
