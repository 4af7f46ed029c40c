// Package jsonduration owns the duration of the hub's config file: a Go
// duration string in JSON ("90s"), refused with a message for the person
// who wrote the file. The hub's config (sync/hub) and the chat hand-over
// section it embeds (sync/handover) share it, so that one error path names
// the key of any bad duration.
package jsonduration

import (
	"encoding/json"
	"fmt"
	"time"
)

// Form is what a duration key takes, said in every message about one.
const Form = `a Go duration string such as "90s" or "3m"`

// Duration is a time.Duration written as a Go duration string in JSON ("90s").
type Duration time.Duration

// UnmarshalJSON reads "1m30s"; it refuses anything else with an *Error.
func (d *Duration) UnmarshalJSON(b []byte) error {
	v, err := check(b)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Error is Duration's refusal: the offending JSON value and why. It cannot
// name its key; the config's decoder finds that (sync/hub's configError).
type Error struct {
	raw  string // the JSON text of the value
	want string // what was wrong, for a person
}

func (e *Error) Error() string { return fmt.Sprintf("%s, got %s", e.want, e.raw) }

// check is Duration's test of a decoded value.
func check(raw []byte) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, &Error{raw: string(raw), want: "want " + Form}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, &Error{raw: fmt.Sprintf("%q", s), want: "want " + Form}
	}
	if v < 0 {
		return 0, &Error{raw: fmt.Sprintf("%q", s), want: "want a duration that is not negative"}
	}
	return v, nil
}
