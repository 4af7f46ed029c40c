// Package cli is the small command-line frame shared by the omnitray and
// omnitray-hub mains: subcommands, flags that fall back to environment
// variables, --help everywhere, signals into a context, and the house rule
// for failures — one line on stderr and a non-zero exit, 2 for bad input.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Command is one subcommand.
type Command struct {
	Name  string
	Short string // one line for the command list
	Run   func(ctx context.Context, args []string) error
}

// UsageError marks bad input; Main exits 2 for it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef builds a UsageError.
func Usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// errHelp is returned after help was printed; Main exits 0.
var errHelp = errors.New("help shown")

// Main runs the subcommand named by os.Args[1] and exits.
func Main(prog, about string, cmds []*Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, prog, about, cmds, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, prog, about string, cmds []*Command, args []string, stdout, stderr io.Writer) int {
	list := func(w io.Writer) {
		fmt.Fprintf(w, "%s — %s\n\nUsage: %s <command> [flags]\n\nCommands:\n", prog, about, prog)
		for _, c := range cmds {
			fmt.Fprintf(w, "  %-11s %s\n", c.Name, c.Short)
		}
		fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", prog)
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: missing command; run '%s --help' for the list\n", prog, prog)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		list(stdout)
		return 0
	}
	for _, c := range cmds {
		if c.Name != args[0] {
			continue
		}
		err := c.Run(ctx, args[1:])
		var ue *UsageError
		switch {
		case err == nil, errors.Is(err, errHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "%s %s: %s\n", prog, c.Name, oneLine(err.Error()))
			return 2
		default:
			fmt.Fprintf(stderr, "%s %s: %s\n", prog, c.Name, oneLine(err.Error()))
			return 1
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q; run '%s --help' for the list\n", prog, args[0], prog)
	return 2
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// FlagSet is a flag.FlagSet whose flags may also come from the environment.
type FlagSet struct {
	*flag.FlagSet
	usage string
	env   map[string]string // flag name → environment variable
	given map[string]bool   // set by a flag or an environment variable
	// from says where each setting's value came from, so that a message
	// about a value names the place to fix it (flag, variable or config key).
	from map[string]origin
	// badValue is set by a duration flag that refused its value.
	badValue *badValue
}

// origin is where a setting's value came from.
type origin struct {
	kind   string // "flag", "env" or "file"
	source string // the variable's name, or the file's description
	raw    string // the value as given
}

// NewFlagSet starts the flags of "prog name"; usage is the synopsis and
// description shown by --help.
func NewFlagSet(prog, name, usage string) *FlagSet {
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &FlagSet{FlagSet: fs, usage: usage, env: map[string]string{}, from: map[string]origin{}}
}

// Env makes flag name fall back to environment variable env.
func (f *FlagSet) Env(name, env string) {
	if f.Lookup(name) == nil {
		panic("cli: no flag " + name)
	}
	f.env[name] = env
}

// Parse parses args; flags beat environment variables, which beat defaults.
// It returns a UsageError naming the bad flag or variable.
func (f *FlagSet) Parse(args []string) error {
	f.badValue = nil
	if err := f.FlagSet.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.PrintHelp(os.Stdout)
			return errHelp
		}
		if b := f.badValue; b != nil {
			f.from[b.name] = origin{kind: "flag", raw: b.raw}
			return Usagef("%s: %v (see --help)", f.Source(b.name), b.err)
		}
		return Usagef("%v (see --help)", err)
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) {
		set[fl.Name] = true
		f.from[fl.Name] = origin{kind: "flag", raw: fl.Value.String()}
	})
	f.given = set
	names := make([]string, 0, len(f.env))
	for n := range f.env {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		env := f.env[name]
		v, ok := os.LookupEnv(env)
		if set[name] || !ok || v == "" {
			continue
		}
		f.from[name] = origin{kind: "env", source: env, raw: v}
		if err := f.Set(name, v); err != nil {
			return Usagef("%s: %v", f.Source(name), err)
		}
		set[name] = true
	}
	return nil
}

// ApplyFile sets flags from a config file's values, except those already
// given by a flag or an environment variable: the file ranks below both.
// source names the file in errors.
func (f *FlagSet) ApplyFile(source string, values map[string]string) error {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if f.Lookup(name) == nil {
			return Usagef("%s: unknown setting %q", source, name)
		}
		if f.given[name] {
			continue
		}
		f.from[name] = origin{kind: "file", source: source, raw: values[name]}
		if err := f.Set(name, values[name]); err != nil {
			return Usagef("%s: %v", f.Source(name), err)
		}
	}
	return nil
}

// Source names where a setting's value came from, with the value, for a
// message about it: `--grace 5x`, `OMNITRAY_GRACE=0` or
// `"grace": 30 in config /path`; for a default, just the flag.
func (f *FlagSet) Source(name string) string {
	o, ok := f.from[name]
	switch {
	case !ok:
		return "--" + name
	case o.kind == "env":
		return o.source + "=" + o.raw
	case o.kind == "file":
		return fmt.Sprintf("%q: %s in %s", name, o.raw, o.source)
	}
	return "--" + name + " " + o.raw
}

// Where names where a setting's value came from without the value:
// `--hub`, `OMNITRAY_HUB_URL` or `"hub" in config /path`. It is for
// settings whose value may hold a secret (a URL with a password), which a
// message must not repeat.
func (f *FlagSet) Where(name string) string {
	o, ok := f.from[name]
	switch {
	case !ok || o.kind == "flag":
		return "--" + name
	case o.kind == "env":
		return o.source
	}
	return fmt.Sprintf("%q in %s", name, o.source)
}

// AtLeast checks a duration setting's lower bound; its error names where the
// value came from and the accepted form.
func (f *FlagSet) AtLeast(name string, d, least time.Duration) error {
	if d >= least {
		return nil
	}
	return Usagef("%s: must be at least %v (%s)", f.Source(name), least, DurationForm)
}

// Given reports whether a flag was set by a flag or environment variable.
func (f *FlagSet) Given(name string) bool { return f.given[name] }

// PrintHelp writes the synopsis and the flags with their variables.
func (f *FlagSet) PrintHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n", f.usage)
	f.VisitAll(func(fl *flag.Flag) {
		name, help := flag.UnquoteUsage(fl)
		if _, ok := fl.Value.(*durationValue); ok {
			name = "duration"
		}
		line := "  --" + fl.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n      %s", line, help)
		if env := f.env[fl.Name]; env != "" {
			fmt.Fprintf(w, " (env %s)", env)
		}
		if fl.DefValue != "" && fl.DefValue != "false" && fl.DefValue != "0" {
			fmt.Fprintf(w, " (default %s)", fl.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// NoArgs refuses positional arguments left after the flags.
func (f *FlagSet) NoArgs() error {
	if f.NArg() > 0 {
		return Usagef("unexpected argument %q (see --help)", f.Arg(0))
	}
	return nil
}
