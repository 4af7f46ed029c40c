package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/omnitray/omnitray/agent/autostart"
	"github.com/omnitray/omnitray/cmd/internal/cli"
)

// runAutostart switches starting 'omnitray run' at login on or off, or
// reports it. "on" also repairs an entry left pointing at an old binary.
func runAutostart(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("omnitray", "autostart", "omnitray autostart on|off|status\n\n"+
		"  on      start 'omnitray run' when you log in (also repairs an entry that\n"+
		"          points at an old copy of omnitray)\n"+
		"  off     stop starting at login\n"+
		"  status  print on or off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return cli.Usagef("missing subcommand: on, off or status (see --help)")
	}
	sub := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil { // so "on --help" works too
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q (see --help)", fs.Arg(0))
	}
	switch sub {
	case "on", "off", "status":
	default:
		return cli.Usagef("unknown subcommand %q: want on, off or status (see --help)", sub)
	}

	exe, err := autostart.DefaultExe()
	if err != nil {
		return err
	}
	e := autostart.New("omnitray", "Omnitray", exe, []string{"run"})
	switch sub {
	case "on":
		if temporaryBuild(exe) {
			return fmt.Errorf("%s is a temporary build ('go run'?); install omnitray and run 'omnitray autostart on' from the installed copy", exe)
		}
		if err := e.Enable(); err != nil {
			return err
		}
		fmt.Printf("on: '%s' starts when you log in\n", strings.Join(e.Command(), " "))
	case "off":
		if err := e.Disable(); err != nil {
			return err
		}
		fmt.Println("off")
	case "status":
		line, err := autostartStatus(e)
		if err != nil {
			return err
		}
		fmt.Println(line)
	}
	return nil
}

// autostartStatus is "on", "off", or "on (…)" when the entry starts
// something other than this binary with ["run"].
func autostartStatus(e *autostart.Entry) (string, error) {
	on, err := e.Enabled()
	if err != nil || !on {
		return "off", err
	}
	cur, err := e.Current()
	if err != nil {
		return "", err
	}
	want := e.Command()
	const repair = "; run 'omnitray autostart on' to repair)"
	switch {
	case len(cur) == 0:
		return "on (the entry's command cannot be read" + repair, nil
	case cur[0] != want[0]:
		return "on (points at an old path: " + cur[0] + repair, nil
	case !slices.Equal(cur, want):
		return "on (runs '" + strings.Join(cur, " ") + "'" + repair, nil
	}
	return "on", nil
}

// temporaryBuild spots binaries that 'go run' or 'go test' left in the
// temp folder: an entry pointing there breaks at the next cleanup.
func temporaryBuild(exe string) bool {
	tmp, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		tmp = os.TempDir()
	}
	return strings.Contains(exe, string(filepath.Separator)+"go-build") ||
		strings.HasPrefix(exe, tmp+string(filepath.Separator))
}
