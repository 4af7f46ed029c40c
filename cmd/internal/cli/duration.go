package cli

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// DurationForm is the accepted form of every duration setting, said in each
// message about one: "parse error" alone leaves the user guessing.
const DurationForm = "a Go duration such as 90s or 3m"

// errBareNumber is a duration written without a unit: the commonest slip
// (a config file's {"grace": 30}, or OMNITRAY_GRACE=0 meant as "none").
var errBareNumber = errors.New("a number needs a unit")

// ParseDuration reads a Go duration; its error says the accepted form and,
// for a bare number, that the unit is missing. It never repeats the value:
// the caller says where it came from, with the value.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err == nil {
		return d, nil
	}
	if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
		return 0, fmt.Errorf("%w; want %s", errBareNumber, DurationForm)
	}
	return 0, fmt.Errorf("not a duration; want %s", DurationForm)
}

// durationValue is a flag.Value for durations whose Set error says the
// accepted form, and which tells its FlagSet about the failure so that the
// one-line message can name the flag in the house style instead of the flag
// package's "invalid value … for flag -grace: parse error".
type durationValue struct {
	d    *time.Duration
	name string
	fs   *FlagSet
}

func (v *durationValue) String() string {
	if v == nil || v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v *durationValue) Set(s string) error {
	d, err := ParseDuration(s)
	if err != nil {
		if v.fs != nil {
			v.fs.badValue = &badValue{name: v.name, raw: s, err: err}
		}
		return err
	}
	*v.d = d
	return nil
}

// Duration defines a duration flag, like flag.FlagSet.Duration, whose bad
// values are reported with their source and the accepted form.
func (f *FlagSet) Duration(name string, value time.Duration, usage string) *time.Duration {
	d := value
	f.Var(&durationValue{d: &d, name: name, fs: f}, name, usage)
	return &d
}

// badValue is the last value a flag of ours refused while the flag package
// parsed the command line.
type badValue struct {
	name, raw string
	err       error
}
