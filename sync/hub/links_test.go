package hub

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

const (
	opAnna  = "op-anna"
	opBoris = "op-boris"
	opChen  = "op-chen"
)

// seedOps are the three operators of the sandbox's seed company, in small.
var seedOps = []linkOperator{{opAnna, "anna@acme.test"}, {opBoris, "boris@acme.test"}, {opChen, "chen@acme.test"}}

func seedStaffWith(emails map[int64]string) []linkStaff {
	base := map[int64]string{201: "anna@acme.test", 202: "boris@acme.test", 203: "chen@acme.test"}
	maps.Copy(base, emails)
	var out []linkStaff
	for id, e := range base {
		out = append(out, linkStaff{id, e})
	}
	return out
}

func TestResolveLinks(t *testing.T) {
	all := map[int64]string{201: opAnna, 202: opBoris, 203: opChen}
	for _, tc := range []struct {
		name      string
		in        linkInput
		links     map[int64]string
		pins      map[int64]string
		noteKeys  []string // in order
		noteWords []string // each in some note's message or attributes
	}{
		{
			name:     "first e-mail match links and pins everyone",
			in:       linkInput{Staff: seedStaffWith(nil), Operators: seedOps, StaffComplete: true, OperatorsKnown: true},
			links:    all,
			pins:     all,
			noteKeys: []string{"pinned:201:op-anna", "pinned:202:op-boris", "pinned:203:op-chen"},
		},
		{
			name:     "e-mails compare case-insensitively",
			in:       linkInput{Staff: []linkStaff{{203, " chen@acme.test"}, {202, "BORIS@Acme.Test"}}, Operators: seedOps, StaffComplete: true},
			links:    map[int64]string{202: opBoris},
			pins:     map[int64]string{202: opBoris},
			noteKeys: []string{"pinned:202:op-boris"},
		},
		{
			name:  "before a whole staff poll, e-mail links nobody",
			in:    linkInput{Staff: seedStaffWith(nil), Operators: seedOps, OperatorsKnown: true, Pins: map[int64]string{203: opChen}},
			links: map[int64]string{203: opChen},
			pins:  map[int64]string{203: opChen},
		},
		{
			name: "the attack: a pinned staff member given a colleague's e-mail keeps their operator",
			in: linkInput{Staff: seedStaffWith(map[int64]string{203: "boris@acme.test"}), Operators: seedOps,
				Pins: all, StaffComplete: true, OperatorsKnown: true},
			links:     all,
			pins:      all,
			noteKeys:  []string{"moved:203:op-chen:op-boris"},
			noteWords: []string{"keeping the pinned link"},
		},
		{
			name: "an unpinned staff member given a pinned colleague's e-mail gets nothing",
			in: linkInput{Staff: seedStaffWith(map[int64]string{203: "boris@acme.test"}), Operators: seedOps,
				Pins: map[int64]string{201: opAnna, 202: opBoris}, StaffComplete: true, OperatorsKnown: true},
			links:     map[int64]string{201: opAnna, 202: opBoris},
			pins:      map[int64]string{201: opAnna, 202: opBoris},
			noteKeys:  []string{"taken:203:op-boris:202"},
			noteWords: []string{"linked to another staff member"},
		},
		{
			name: "two unpinned staff with one operator's e-mail: neither",
			in: linkInput{Staff: seedStaffWith(map[int64]string{203: "Boris@acme.test"}), Operators: seedOps,
				StaffComplete: true, OperatorsKnown: true},
			links:     map[int64]string{201: opAnna},
			pins:      map[int64]string{201: opAnna},
			noteKeys:  []string{"pinned:201:op-anna", "staff-share:0:op-boris:202,203"},
			noteWords: []string{"linking none of them", "202,203"},
		},
		{
			name: "three staff, one pinned: the other two still get nothing",
			in: linkInput{Staff: []linkStaff{{202, "boris@acme.test"}, {203, "boris@acme.test"}, {204, "boris@acme.test"}},
				Operators: seedOps, Pins: map[int64]string{202: opBoris}, StaffComplete: true},
			links:    map[int64]string{202: opBoris},
			pins:     map[int64]string{202: opBoris},
			noteKeys: []string{"taken:203:op-boris:202", "taken:204:op-boris:202"},
		},
		{
			name: "a duplicate address pinned elsewhere still blocks the unpinned one",
			in: linkInput{Staff: []linkStaff{{202, "boris@acme.test"}, {203, "boris@acme.test"}},
				Operators: seedOps, Pins: map[int64]string{203: opChen}, StaffComplete: true, OperatorsKnown: true},
			links:    map[int64]string{203: opChen},
			pins:     map[int64]string{203: opChen},
			noteKeys: []string{"staff-share:0:op-boris:202,203", "moved:203:op-chen:op-boris"},
		},
		{
			name: "two operators with one e-mail: the staff member gets neither",
			in: linkInput{Staff: []linkStaff{{202, "boris@acme.test"}},
				Operators: append(slices.Clone(seedOps), linkOperator{"op-boris-2", "BORIS@acme.test"}), StaffComplete: true},
			links:    map[int64]string{},
			pins:     map[int64]string{},
			noteKeys: []string{"ops-share:202:op-boris,op-boris-2"},
		},
		{
			name: "config wins over a pin and over e-mail, and is pinned",
			in: linkInput{Configured: map[int64]string{203: opBoris}, Pins: map[int64]string{203: opChen},
				Staff: seedStaffWith(nil), Operators: seedOps, StaffComplete: true, OperatorsKnown: true},
			links: map[int64]string{201: opAnna, 203: opBoris},
			pins:  map[int64]string{201: opAnna, 203: opBoris},
			// Boris's own address matches the operator the config gave 203.
			noteKeys:  []string{"config-replaces:203:op-chen:op-boris", "pinned:201:op-anna", "taken:202:op-boris:203"},
			noteWords: []string{"replaces the pinned one"},
		},
		{
			name: "a pin of someone else to a configured operator is dropped",
			in: linkInput{Configured: map[int64]string{203: opBoris}, Pins: map[int64]string{202: opBoris},
				Staff: seedStaffWith(nil), Operators: seedOps, StaffComplete: true, OperatorsKnown: true},
			links:     map[int64]string{201: opAnna, 203: opBoris},
			pins:      map[int64]string{201: opAnna, 203: opBoris},
			noteKeys:  []string{"pin-dropped:202:op-boris:203", "pinned:201:op-anna", "taken:202:op-boris:203"},
			noteWords: []string{"dropping a pinned link"},
		},
		{
			name: "a configured operator not in Chaport's list is trusted, quietly",
			in: linkInput{Configured: map[int64]string{201: "op-elsewhere"}, Staff: seedStaffWith(nil),
				Operators: seedOps, StaffComplete: true, OperatorsKnown: true},
			links:    map[int64]string{201: "op-elsewhere", 202: opBoris, 203: opChen},
			pins:     map[int64]string{201: "op-elsewhere", 202: opBoris, 203: opChen},
			noteKeys: []string{"pinned:202:op-boris", "pinned:203:op-chen"},
		},
		{
			name:      "a pin whose operator left Chaport's list stays, and is said",
			in:        linkInput{Pins: all, Staff: seedStaffWith(nil), Operators: seedOps[:2], StaffComplete: true, OperatorsKnown: true},
			links:     all,
			pins:      all,
			noteKeys:  []string{"pin-missing:203:op-chen"},
			noteWords: []string{"not in Chaport's operator list"},
		},
		{
			name:  "before Chaport's list is read, a pin says nothing",
			in:    linkInput{Pins: all, Staff: seedStaffWith(nil), StaffComplete: true},
			links: all,
			pins:  all,
		},
		{
			name:     "a pin of a staff member gone from Omnidesk stays",
			in:       linkInput{Pins: map[int64]string{299: opChen}, Staff: []linkStaff{{201, "anna@acme.test"}}, Operators: seedOps, StaffComplete: true, OperatorsKnown: true},
			links:    map[int64]string{201: opAnna, 299: opChen},
			pins:     map[int64]string{201: opAnna, 299: opChen},
			noteKeys: []string{"pinned:201:op-anna"},
		},
		{
			name:  "no e-mail, no link",
			in:    linkInput{Staff: []linkStaff{{201, ""}}, Operators: []linkOperator{{"op-x", ""}}, StaffComplete: true, OperatorsKnown: true},
			links: map[int64]string{},
			pins:  map[int64]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := resolveLinks(tc.in)
			if !maps.Equal(res.Links, tc.links) {
				t.Errorf("links %v, want %v", res.Links, tc.links)
			}
			if !maps.Equal(res.Pins, tc.pins) {
				t.Errorf("pins %v, want %v", res.Pins, tc.pins)
			}
			var keys []string
			var text strings.Builder
			for _, n := range res.Notes {
				keys = append(keys, n.Key)
				fmt.Fprintln(&text, n.Msg, n.Attrs)
			}
			if !slices.Equal(keys, tc.noteKeys) {
				t.Errorf("notes %q, want %q", keys, tc.noteKeys)
			}
			for _, w := range tc.noteWords {
				if !strings.Contains(text.String(), w) {
					t.Errorf("no note says %q:\n%s", w, text.String())
				}
			}
		})
	}
}

// The pins never move by e-mail, whatever order the changes come in.
func TestResolveLinksPinsNeverMoveByEmail(t *testing.T) {
	pins := map[int64]string{}
	steps := []map[int64]string{
		nil,
		{203: "boris@acme.test"},
		{202: "chen@acme.test", 203: "boris@acme.test"},
		{201: "chen@acme.test", 202: "anna@acme.test", 203: "anna@acme.test"},
		nil,
	}
	for i, emails := range steps {
		res := resolveLinks(linkInput{Pins: pins, Staff: seedStaffWith(emails), Operators: seedOps, StaffComplete: true, OperatorsKnown: true})
		if i > 0 && !maps.Equal(res.Links, map[int64]string{201: opAnna, 202: opBoris, 203: opChen}) {
			t.Fatalf("step %d (%v): links %v", i, emails, res.Links)
		}
		pins = res.Pins
	}
}

// linkBook says each cause once while it stands, and again if it comes back.
func TestLinkBookNotesOncePerCause(t *testing.T) {
	b := newLinkBook(nil, nil)
	moved := seedStaffWith(map[int64]string{203: "boris@acme.test"})
	steps := []struct {
		staff    []linkStaff
		keys     []string
		pinsSave bool
	}{
		{seedStaffWith(nil), []string{"pinned:201:op-anna", "pinned:202:op-boris", "pinned:203:op-chen"}, true},
		{seedStaffWith(nil), nil, false},
		{moved, []string{"moved:203:op-chen:op-boris"}, false},
		{moved, nil, false},
		{moved, nil, false},
		{seedStaffWith(nil), nil, false},
		{moved, []string{"moved:203:op-chen:op-boris"}, false},
	}
	for i, st := range steps {
		b.update(st.staff, seedOps, true, true)
		notes, pins, changed := b.take()
		var keys []string
		for _, n := range notes {
			keys = append(keys, n.Key)
		}
		if !slices.Equal(keys, st.keys) || changed != st.pinsSave {
			t.Fatalf("step %d: notes %q, pins changed %v; want %q, %v", i, keys, changed, st.keys, st.pinsSave)
		}
		if changed && len(pins) != 3 {
			t.Fatalf("step %d: pins to save %v", i, pins)
		}
	}
	if op, ok := b.operator(203); !ok || op != opChen {
		t.Fatalf("203 linked to %q, %v", op, ok)
	}
}
