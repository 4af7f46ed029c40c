package hub

import (
	"cmp"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Which Chaport operator a staff member's token may write is a security
// decision, and an Omnidesk e-mail is not a stable thing to hang it on: an
// admin (or the staff member, in their profile) can change it, and re-deriving
// the link from the current address on every poll once let staff 203, given
// Boris's address, write Boris's operator offline (issue 10, finding 6).
//
// So a link, once made, is pinned: by the config (which always wins) or by
// the first e-mail match, and then kept in the hub's state (linkstate.go)
// whatever the e-mails do later. E-mail only ever links someone nobody has
// pinned, to an operator nobody has pinned, and only when exactly one staff
// member has that address. Moving a pinned link is an admin's act: a config
// link, or removing the pin from the state file while the hub is stopped.
//
// resolveLinks is the whole rule, pure; linkBook keeps its state between
// refreshes and says each warning once per cause.

// linkStaff is one Omnidesk staff member as the resolver needs them.
type linkStaff struct {
	ID    int64
	Email string
}

// linkOperator is one Chaport operator as the resolver needs them.
type linkOperator struct {
	ID    string
	Email string
}

// linkInput is what the links are decided from.
type linkInput struct {
	Configured map[int64]string // the config's links, staff → operator
	Pins       map[int64]string // the pins so far, staff → operator
	Staff      []linkStaff
	Operators  []linkOperator
	// StaffComplete is set once a whole staff poll is in: before it, a
	// second staff member with the same address may still be on a page
	// not read yet, so e-mail links nobody.
	StaffComplete bool
	// OperatorsKnown is set once Chaport's operator list has been read:
	// before it, a pinned operator missing from the list says nothing.
	OperatorsKnown bool
}

// linkNote is something the log should say about the links. Key names its
// cause; linkBook logs a note when its key first appears, not again while
// the cause stands.
type linkNote struct {
	Key   string
	Level slog.Level
	Msg   string
	Attrs []any
}

// linkResult is the resolver's decision.
type linkResult struct {
	Links map[int64]string // staff → operator, for every linked staff member
	Pins  map[int64]string // the pins to keep from now on
	Notes []linkNote
}

// resolveLinks decides every staff member's operator:
//
//  1. A configured link wins, and is pinned (so that it outlives its config
//     entry). A pin of another staff member to a configured operator is
//     dropped.
//  2. A pin holds, however the staff member's e-mail or anyone else's
//     changes, and even while its operator is missing from Chaport's list
//     (the list may be briefly incomplete).
//  3. Anyone else is linked, and pinned, to the operator with their e-mail
//     (compared case-insensitively) if exactly one staff member and exactly
//     one operator have that address and no one holds the operator by
//     config or pin.
func resolveLinks(in linkInput) linkResult {
	res := linkResult{Links: map[int64]string{}, Pins: map[int64]string{}}
	noted := map[string]bool{}
	note := func(key string, level slog.Level, msg string, attrs ...any) {
		if !noted[key] { // a cause shared by several staff is said once
			noted[key] = true
			res.Notes = append(res.Notes, linkNote{Key: key, Level: level, Msg: msg, Attrs: attrs})
		}
	}
	// holder is who holds each operator by config or pin, for the notes;
	// the lowest staff id when several do.
	holder := map[string]int64{}
	hold := func(op string, staff int64) {
		if h, ok := holder[op]; !ok || staff < h {
			holder[op] = staff
		}
	}

	configuredTo := map[string]int64{}
	for _, staff := range slices.Sorted(maps.Keys(in.Configured)) {
		op := in.Configured[staff]
		res.Links[staff], res.Pins[staff] = op, op
		hold(op, staff)
		if h, ok := configuredTo[op]; !ok || staff < h {
			configuredTo[op] = staff
		}
		if was, ok := in.Pins[staff]; ok && was != op {
			note("config-replaces:"+key(staff, was, op), slog.LevelInfo,
				"the configured link replaces the pinned one", "staff", staff, "operator", op, "was", was)
		}
	}

	for _, staff := range slices.Sorted(maps.Keys(in.Pins)) {
		op := in.Pins[staff]
		if _, ok := in.Configured[staff]; ok {
			continue
		}
		if owner, ok := configuredTo[op]; ok {
			note("pin-dropped:"+key(staff, op, owner), slog.LevelWarn,
				"dropping a pinned link: the config links its Chaport operator to another staff member",
				"staff", staff, "operator", op, "configured_staff", owner)
			continue
		}
		res.Links[staff], res.Pins[staff] = op, op
		hold(op, staff)
	}

	opsByEmail := map[string][]string{}
	opKnown := map[string]bool{}
	// Sorted, so that a note naming several operators names them in one
	// order, and its key stays the same from one refresh to the next.
	for _, o := range slices.SortedFunc(slices.Values(in.Operators), func(a, b linkOperator) int { return cmp.Compare(a.ID, b.ID) }) {
		opKnown[o.ID] = true
		if e := strings.ToLower(o.Email); e != "" && !slices.Contains(opsByEmail[e], o.ID) {
			opsByEmail[e] = append(opsByEmail[e], o.ID)
		}
	}
	if in.OperatorsKnown {
		for _, staff := range slices.Sorted(maps.Keys(res.Pins)) {
			if _, cfg := in.Configured[staff]; !cfg && !opKnown[res.Pins[staff]] {
				note("pin-missing:"+key(staff, res.Pins[staff]), slog.LevelWarn,
					"the pinned Chaport operator is not in Chaport's operator list; keeping the link",
					"staff", staff, "operator", res.Pins[staff])
			}
		}
	}
	if !in.StaffComplete {
		return res
	}

	staff := slices.SortedFunc(slices.Values(in.Staff), func(a, b linkStaff) int { return cmp.Compare(a.ID, b.ID) })
	staffByEmail := map[string][]int64{}
	for _, s := range staff {
		if e := strings.ToLower(s.Email); e != "" && !slices.Contains(staffByEmail[e], s.ID) {
			staffByEmail[e] = append(staffByEmail[e], s.ID)
		}
	}
	for _, s := range staff {
		email := strings.ToLower(s.Email)
		ops := opsByEmail[email]
		if email == "" || len(ops) == 0 {
			continue
		}
		if pinned, ok := res.Links[s.ID]; ok {
			if _, cfg := in.Configured[s.ID]; !cfg && !slices.Contains(ops, pinned) {
				note("moved:"+key(s.ID, pinned, strings.Join(ops, ",")), slog.LevelWarn,
					"the staff member's Omnidesk e-mail now matches another Chaport operator; keeping the pinned link",
					"staff", s.ID, "operator", pinned, "email_matches", strings.Join(ops, ","))
			}
			continue
		}
		if len(ops) > 1 {
			note("ops-share:"+key(s.ID, strings.Join(ops, ",")), slog.LevelWarn,
				"several Chaport operators have the staff member's e-mail; linking none of them",
				"staff", s.ID, "operators", strings.Join(ops, ","))
			continue
		}
		op := ops[0]
		if owner, ok := holder[op]; ok {
			note("taken:"+key(s.ID, op, owner), slog.LevelWarn,
				"the staff member's Omnidesk e-mail matches a Chaport operator linked to another staff member; not linking",
				"staff", s.ID, "operator", op, "linked_staff", owner)
			continue
		}
		if same := staffByEmail[email]; len(same) > 1 {
			note("staff-share:"+key(0, op, ids(same)), slog.LevelWarn,
				"several staff members have this Chaport operator's e-mail; linking none of them by e-mail (link one in the config)",
				"operator", op, "staff", ids(same))
			continue
		}
		res.Links[s.ID], res.Pins[s.ID] = op, op
		note("pinned:"+key(s.ID, op), slog.LevelInfo,
			"staff member linked to the Chaport operator with their e-mail; link pinned", "staff", s.ID, "operator", op)
	}
	return res
}

// key joins a note's parts into its cause key.
func key(staff int64, parts ...any) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(staff, 10))
	for _, p := range parts {
		b.WriteByte(':')
		switch v := p.(type) {
		case string:
			b.WriteString(v)
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		}
	}
	return b.String()
}

// ids writes staff ids for a log line: "202,203".
func ids(staff []int64) string {
	s := make([]string, len(staff))
	for i, id := range staff {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

// linkBook is the links between refreshes: the current decision, the pins,
// the notes not yet logged. The company (company.go) owns it, under the
// directory's lock; the hub's link keeper (linkstate.go) logs the notes
// and saves the pins, out of that lock.
type linkBook struct {
	configured map[int64]string
	pins       map[int64]string
	links      map[int64]string
	standing   map[string]bool // the notes of the last resolution, logged
	pending    []linkNote      // new notes, not yet logged
	pinsDirty  bool            // pins changed since they were last taken
}

func newLinkBook(configured, pins map[int64]string) *linkBook {
	b := &linkBook{configured: configured, pins: pins, standing: map[string]bool{}}
	b.update(nil, nil, false, false)
	return b
}

// update resolves the links again; it reports whether the pins changed or
// a new note is waiting, i.e. whether the link keeper has work.
func (b *linkBook) update(staff []linkStaff, ops []linkOperator, staffComplete, opsKnown bool) bool {
	res := resolveLinks(linkInput{Configured: b.configured, Pins: b.pins, Staff: staff, Operators: ops,
		StaffComplete: staffComplete, OperatorsKnown: opsKnown})
	work := false
	if !maps.Equal(res.Pins, b.pins) {
		b.pins, b.pinsDirty, work = res.Pins, true, true
	}
	b.links = res.Links
	standing := make(map[string]bool, len(res.Notes))
	for _, n := range res.Notes {
		standing[n.Key] = true
		if !b.standing[n.Key] {
			b.pending = append(b.pending, n)
			work = true
		}
	}
	b.standing = standing
	return work
}

// take hands the link keeper the notes to log and, if they changed, a copy
// of the pins to save.
func (b *linkBook) take() (notes []linkNote, pins map[int64]string, changed bool) {
	notes, b.pending = b.pending, nil
	if b.pinsDirty {
		pins, changed, b.pinsDirty = maps.Clone(b.pins), true, false
	}
	return notes, pins, changed
}

// operator is the staff member's linked operator id.
func (b *linkBook) operator(staffID int64) (string, bool) {
	op, ok := b.links[staffID]
	return op, ok
}
