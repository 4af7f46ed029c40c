package omnidesk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Staff is one staff member as the API reports it.
type Staff struct {
	ID            int64  `json:"staff_id"`
	Email         string `json:"staff_email"`
	FullName      string `json:"staff_full_name"`
	Signature     string `json:"staff_signature"`
	SignatureChat string `json:"staff_signature_chat"`
	Thumbnail     string `json:"thumbnail"`
	// Active means the account is enabled, not that the person is at work.
	Active bool `json:"active"`
	// Status is the deprecated string form ("online"/"offline"); it cannot
	// express custom statuses, so use StatusID.
	Status    string `json:"status"`
	StatusID  int64  `json:"status_id"`
	CreatedAt Time   `json:"created_at"`
	UpdatedAt Time   `json:"updated_at"`
}

// StaffStatus is one entry of the status catalogue. The API exposes only the
// name and whether it is enabled, not what access the status grants, which is
// why the mapping to chat availability is configured elsewhere.
type StaffStatus struct {
	ID     int64  `json:"status_id"`
	Name   string `json:"status"`
	Active bool   `json:"active"`
}

// StaffPage is one page of the staff list. TotalCount is the server's count
// over all pages, or 0 when the server left it out.
type StaffPage struct {
	Staff      []Staff
	TotalCount int
}

// Time is an Omnidesk timestamp: a JSON string in time.RFC1123Z layout, e.g.
// "Mon, 05 May 2014 00:15:17 +0300". The zone offset is kept, so a value
// marshals back to the same text. An empty string or null decodes to the zero
// Time, and the zero Time encodes as null.
type Time struct{ time.Time }

// UnmarshalJSON parses the RFC1123Z string form.
func (t *Time) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if n := len(data); n >= 2 && data[0] == '"' && data[n-1] == '"' && bytes.IndexByte(data, '\\') < 0 {
		// The usual plain string: no escapes to undo, so no second decode
		// (the decoder that called us has checked it is valid JSON).
		s = string(data[1 : n-1])
	} else if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("decoding omnidesk time: %w", err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	parsed, err := time.Parse(time.RFC1123Z, s)
	if err != nil {
		return fmt.Errorf("parsing omnidesk time %q: %w", s, err)
	}
	// Real zones lie within ±14 h; time.Parse accepts larger offsets that
	// could not be written back.
	if _, off := parsed.Zone(); off < -14*3600 || off > 14*3600 {
		return fmt.Errorf("parsing omnidesk time %q: zone offset out of range", s)
	}
	// time.Parse accepts fractional seconds the layout does not have;
	// Omnidesk never sends them, and keeping them would not round-trip.
	parsed = parsed.Truncate(time.Second)
	t.Time = parsed
	return nil
}

// MarshalJSON writes the RFC1123Z string form, or null for the zero Time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.Format(time.RFC1123Z))
}

// indexed is one list entry before ordering.
type indexed[T any] struct {
	idx  int
	item T
}

// decodeList decodes an index-keyed list whose items are wrapped in the key
// wrapper. It returns the items in index order, the value of countKey and
// whether that key was present. Unknown non-numeric keys are ignored, because
// the vendor adds fields without notice and an extra key must not break sync.
// A repeated key counts once, with its last value, as with a map.
//
// It reads the body as a stream, each item straight into T: the hub decodes
// a page of 100 staff on every poll, and going through maps of raw messages
// read every byte six times over.
func decodeList[T any](data []byte, wrapper, countKey string) (items []T, count int, hasCount bool, err error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, 0, false, errors.New("empty body")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	open, err := dec.Token()
	if err != nil {
		return nil, 0, false, err
	}
	switch open {
	case json.Delim('['):
		// PHP encodes an empty associative array as []; accept a non-empty
		// one too, in order, rather than failing on a harmless encoder change.
		for i := 0; dec.More(); i++ {
			item, err := decodeWrapped[T](dec, wrapper)
			if err != nil {
				return nil, 0, false, fmt.Errorf("item %d: %w", i, err)
			}
			items = append(items, item)
		}
	case json.Delim('{'):
		var entries []indexed[T]
		at := map[int]int{} // index → position in entries
		var countRaw json.RawMessage
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, 0, false, err
			}
			k, _ := tok.(string)
			i, isIndex := listIndex(k)
			switch {
			case k == countKey:
				countRaw = nil
				err = dec.Decode(&countRaw)
			case isIndex:
				// "00" or "01" would be a second entry for a position: a
				// broken list, not data.
				if strconv.Itoa(i) != k {
					return nil, 0, false, fmt.Errorf("key %q: not a plain index", k)
				}
				var item T
				if item, err = decodeWrapped[T](dec, wrapper); err != nil {
					err = fmt.Errorf("item %d: %w", i, err)
					break
				}
				if pos, seen := at[i]; seen {
					entries[pos].item = item
				} else {
					at[i] = len(entries)
					entries = append(entries, indexed[T]{i, item})
				}
			default:
				var skip json.RawMessage
				err = dec.Decode(&skip)
			}
			if err != nil {
				return nil, 0, false, err
			}
		}
		if countRaw != nil {
			if count, err = decodeCount(countRaw); err != nil {
				return nil, 0, false, fmt.Errorf("key %q: %w", countKey, err)
			}
			hasCount = true
		}
		slices.SortFunc(entries, func(a, b indexed[T]) int { return a.idx - b.idx })
		items = make([]T, 0, len(entries))
		for _, e := range entries {
			items = append(items, e.item)
		}
	default:
		return nil, 0, false, fmt.Errorf("want an object or an array, got %v", open)
	}
	if _, err := dec.Token(); err != nil { // the closing ] or }
		return nil, 0, false, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, 0, false, errors.New("data after the list")
	}
	if items == nil {
		items = []T{}
	}
	return items, count, hasCount, nil
}

// decodeWrapped reads one list item, {wrapper: {…}}, decoding the inner
// object straight into T; other keys beside the wrapper are skipped.
func decodeWrapped[T any](dec *json.Decoder, wrapper string) (T, error) {
	var item T
	if tok, err := dec.Token(); err != nil {
		return item, err
	} else if tok != json.Delim('{') {
		return item, fmt.Errorf("want an object, got %v", tok)
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return item, err
		}
		if k, _ := tok.(string); k == wrapper {
			var v T // a repeated key wins whole, as with a map
			if err := dec.Decode(&v); err != nil {
				return item, err
			}
			item, found = v, true
			continue
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return item, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return item, err
	}
	if !found {
		return item, fmt.Errorf("no %q key", wrapper)
	}
	return item, nil
}

// listIndex accepts only plain decimal keys, so "-1" or "+1" or " 1" are not
// mistaken for list positions.
func listIndex(k string) (int, bool) {
	if k == "" || len(k) > 9 {
		return 0, false
	}
	for _, r := range k {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(k)
	return n, err == nil
}

// decodeCount accepts a number or a quoted number: PHP backends sometimes
// stringify integers.
func decodeCount(raw json.RawMessage) (int, error) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("count is neither number nor string: %s", raw)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", s, err)
	}
	return n, nil
}
