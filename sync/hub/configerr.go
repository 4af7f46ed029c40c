package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/omnitray/omnitray/internal/jsonduration"
)

// Errors from the hub's config file are read by the person who wrote it, so
// they speak of keys, lines and JSON kinds, never of Go's types and struct
// fields ("cannot unmarshal string into Go struct field
// FileConfig.budget_share of type float64").

// keyForms says what a key takes where its Go type alone would say too
// little; the others are described from their type (kindOf).
var keyForms = map[string]string{
	"budget_share": "a number between 0 and 1",
	"links":        `an object of staff ids to Chaport operator ids, e.g. {"201": "59747c3ff77948220136b7b3"}`,
	"chat_access":  `an object of Omnidesk status ids to true or false, e.g. {"130001": true}`,
}

// configError turns a decoding error of data into a message for a person.
func configError(data []byte, err error) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("the file is empty (want a JSON object, e.g. {})")
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	// A duration value Duration refused: configError finds its key, which
	// UnmarshalJSON cannot know.
	var de *jsonduration.Error
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fmt.Errorf("line %d, column %d: %s (not valid JSON)", line, col, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := lineCol(data, int64(len(data)))
		return fmt.Errorf("line %d, column %d: the file ends inside an object, list or string (a missing } ] or \"?)", line, col)
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Errorf("want a JSON object, e.g. {}, got %s", article(te.Value))
		}
		want := keyForms[te.Field]
		if want == "" {
			want = kindOf(te.Type)
		}
		line, col := lineCol(data, te.Offset)
		return fmt.Errorf("%s (line %d, column %d): want %s, got %s", te.Field, line, col, want, article(te.Value))
	case errors.As(err, &de):
		if key := findKey(data, reflect.TypeFor[FileConfig](), badDuration); key != "" {
			return fmt.Errorf("%s: %v", key, de)
		}
		return fmt.Errorf("a duration: %v", de)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		if key := findKey(data, reflect.TypeFor[FileConfig](), nil); key != "" {
			return fmt.Errorf("unknown key %q (a typo? the keys are in docs/architecture.md)", key)
		}
		return fmt.Errorf("%s (a typo?)", strings.TrimPrefix(err.Error(), "json: "))
	}
	return err
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col == 0 {
		col = 1
	}
	return line, col
}

// article names a JSON kind as encoding/json reports it ("string",
// "number", "array", "object", "bool", "number 1.5") for a sentence.
func article(kind string) string {
	switch {
	case kind == "array", kind == "object":
		return "an " + kind
	case kind == "bool":
		return "true or false"
	case strings.HasPrefix(kind, "number "):
		return kind // "number -1": the value says it best
	}
	return "a " + kind
}

// kindOf describes what a Go type takes in JSON.
func kindOf(t reflect.Type) string {
	if t == reflect.TypeFor[Duration]() {
		return jsonduration.Form
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(kindOf(t.Elem()), "a "), "an ") + "s"
	case reflect.Map:
		return "an object whose values are " + kindOf(t.Elem())
	case reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return kindOf(t.Elem())
	}
	return "another kind of value"
}

// badDuration reports whether a raw JSON value is refused by Duration.
func badDuration(t reflect.Type, raw json.RawMessage) bool {
	if t != reflect.TypeFor[Duration]() {
		return false
	}
	var d Duration
	return d.UnmarshalJSON(raw) != nil
}

// findKey walks data along the config's struct type t and returns the dotted
// path of the first key (in sorted order) that is unknown (bad == nil) or
// whose value bad reports; "" if none is found. It is only called on a file
// that already failed to decode, to name the key the decoder could not.
func findKey(data []byte, t reflect.Type, bad func(reflect.Type, json.RawMessage) bool) string {
	var obj map[string]json.RawMessage
	if t.Kind() != reflect.Struct || json.Unmarshal(data, &obj) != nil {
		return ""
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f.Type
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ft, known := fields[k]
		// encoding/json also matches keys case-insensitively.
		for name, typ := range fields {
			if !known && strings.EqualFold(name, k) {
				ft, known = typ, true
			}
		}
		switch {
		case !known:
			if bad == nil {
				return k
			}
		case bad != nil && bad(ft, obj[k]):
			return k
		case ft.Kind() == reflect.Struct:
			if sub := findKey(obj[k], ft, bad); sub != "" {
				return k + "." + sub
			}
		}
	}
	return ""
}
