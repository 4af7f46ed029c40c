//go:build linux || freebsd || openbsd || netbsd || dragonfly

package autostart

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	goautostart "github.com/emersion/go-autostart"
)

// initDir is the directory go-autostart computed in its init(), which ran
// just before this package's (same environment, no code in between).
var initDir = xdgAutostartDir()

// xdgAutostartDir reads the environment now, the way go-autostart does.
func xdgAutostartDir() string {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		base = filepath.Join(os.Getenv("HOME"), ".config")
	}
	return filepath.Join(base, "autostart")
}

func (e *Entry) path() (string, error) {
	dir := xdgAutostartDir()
	if !filepath.IsAbs(dir) { // HOME unset: go-autostart would write to ./.config
		return "", errors.New("cannot find the autostart folder: HOME and XDG_CONFIG_HOME are unset or relative")
	}
	return filepath.Join(dir, e.name+".desktop"), nil
}

// app is a fresh go-autostart App: its Enable quotes Exec in place, so one
// App must never be used twice.
func (e *Entry) app() *goautostart.App {
	return &goautostart.App{Name: e.name, DisplayName: e.displayName, Exec: slices.Clone(e.argv)}
}

func (e *Entry) read() (state, error) {
	path, err := e.path()
	if err != nil {
		return state{}, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, err
	}
	keys := desktopKeys(data)
	st := state{exists: true, enabled: desktopEnabled(keys)}
	if argv, err := splitExec(keys["Exec"]); err == nil {
		st.argv = argv
	}
	return st, nil
}

// render is the .desktop file for this entry. go-autostart's own file is
// replaced by it: its strconv.Quote is not the Desktop Entry quoting (`%`
// undoubled, `$` and "`" unescaped) and it omits Terminal=false and Comment.
func (e *Entry) render() ([]byte, error) { return desktopFile(e.displayName, e.Comment, e.argv) }
