package omnidesk

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"testing"
	"time"
)

// The list targets fuzz decodeList as the client calls it for GET
// /staff.json and GET /staff_statuses.json (docs/vendor-contract.md):
// an index-keyed object {"0": {"staff": {…}}, …, "total_count": N}. It must
// never panic, and what it accepts must be exactly the numerically keyed
// entries, each index once, in index order (checked against a reference
// decoding below). Seeds are in testdata/fuzz/<FuzzName>.

func FuzzStaffList(f *testing.F) {
	f.Add([]byte(`{"0": {"staff": {"staff_id": 200, "staff_email": "staff@domain.ru", "staff_full_name": "Name", "active": true, "status": "online", "status_id": 1, "created_at": "Mon, 05 May 2014 00:15:17 +0300", "updated_at": "Mon, 05 May 2014 00:15:17 +0300"}}, "total_count": 1}`))
	f.Add([]byte(`{"10": {"staff": {"staff_id": 10}}, "2": {"staff": {"staff_id": 2}}, "total_count": "3", "extra": 1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkList[Staff](t, data, "staff", "total_count")
	})
}

func FuzzStatuses(f *testing.F) {
	f.Add([]byte(`{"0": {"staff_statuses": {"status_id": 1, "status": "Онлайн", "active": true}}, "1": {"staff_statuses": {"status_id": 2, "status": "Офлайн", "active": true}}, "count": 2}`))
	f.Add([]byte(`{"count": 0}`))
	f.Add([]byte(`[{"staff_statuses": {"status_id": 3}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkList[StaffStatus](t, data, "staff_statuses", "count")
	})
}

// checkList runs decodeList and compares an accepted result with the
// reference: numeric keys sorted by value (array positions for an array),
// each item unwrapped and decoded on its own.
func checkList[T any](t *testing.T, data []byte, wrapper, countKey string) {
	t.Helper()
	items, count, hasCount, err := decodeList[T](data, wrapper, countKey)
	if err != nil {
		if items != nil || count != 0 || hasCount {
			t.Fatalf("error %v with results %v, %d, %v", err, items, count, hasCount)
		}
		return
	}
	type entry struct {
		key string
		idx int
		raw json.RawMessage
	}
	var entries []entry
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(trimmed, &arr); err != nil {
			t.Fatalf("accepted an array the reference cannot read: %v", err)
		}
		for i, raw := range arr {
			entries = append(entries, entry{strconv.Itoa(i), i, raw})
		}
	} else {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			t.Fatalf("accepted an object the reference cannot read: %v", err)
		}
		for k, raw := range obj {
			if k == countKey {
				continue
			}
			if n, ok := refIndex(k); ok {
				entries = append(entries, entry{k, n, raw})
			}
		}
		sort.Slice(entries, func(a, b int) bool { return entries[a].idx < entries[b].idx })
	}
	for i := 1; i < len(entries); i++ {
		if entries[i-1].idx == entries[i].idx {
			// Two keys name one position ("1" and "01"): the item order then
			// depends on map iteration, and the list is ambiguous.
			t.Fatalf("keys %q and %q both accepted as index %d", entries[i-1].key, entries[i].key, entries[i].idx)
		}
	}
	if len(items) != len(entries) {
		t.Fatalf("decoded %d items, reference has %d numeric keys", len(items), len(entries))
	}
	for i, e := range entries {
		var wrap map[string]json.RawMessage
		if err := json.Unmarshal(e.raw, &wrap); err != nil {
			t.Fatalf("item %q accepted but not an object: %v", e.key, err)
		}
		var want T
		if err := json.Unmarshal(wrap[wrapper], &want); err != nil {
			t.Fatalf("item %q accepted but does not decode: %v", e.key, err)
		}
		wantJSON, err1 := json.Marshal(want)
		gotJSON, err2 := json.Marshal(items[i])
		if err1 != nil || err2 != nil {
			t.Fatalf("item %q does not re-encode: %v, %v", e.key, err1, err2)
		}
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Fatalf("position %d holds %s, want key %q = %s (index order broken)", i, gotJSON, e.key, wantJSON)
		}
	}
}

// refIndex is the documented notion of a list key: the stringified index,
// plain decimal digits.
func refIndex(k string) (int, bool) {
	if k == "" || len(k) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(k) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// FuzzTime fuzzes the RFC1123Z timestamp type. It must never panic, and a
// value it parsed must marshal to text that parses back to the same instant
// and zone offset, text that is then stable.
func FuzzTime(f *testing.F) {
	f.Add([]byte(`"Mon, 05 May 2014 00:15:17 +0300"`))
	f.Add([]byte(`"Sun, 01 Dec 2024 23:59:59 -0500"`))
	f.Add([]byte(`null`))
	f.Add([]byte(`""`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tm Time
		if err := json.Unmarshal(data, &tm); err != nil {
			return
		}
		out, err := json.Marshal(tm)
		if err != nil {
			t.Fatalf("%v does not marshal: %v", tm.Time, err)
		}
		if tm.IsZero() {
			if string(out) != "null" {
				t.Fatalf("zero time marshals as %s", out)
			}
			return
		}
		if want, _ := json.Marshal(tm.Format(time.RFC1123Z)); !bytes.Equal(out, want) {
			t.Fatalf("marshals as %s, want %s", out, want)
		}
		var back Time
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("own output %s refused: %v", out, err)
		}
		_, off1 := tm.Zone()
		_, off2 := back.Zone()
		if !back.Equal(tm.Time) || off1 != off2 {
			t.Fatalf("%s parsed as %v, marshals as %s, which parses as %v", data, tm.Time, out, back.Time)
		}
		again, err := json.Marshal(back)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("%s marshals as %s, then as %s (%v)", data, out, again, err)
		}
	})
}
