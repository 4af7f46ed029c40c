//go:build darwin && !ios

package autostart

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	goautostart "github.com/emersion/go-autostart"
)

// labelPrefix makes the launchd label reverse-DNS, as launchd expects;
// go-autostart uses its App.Name both as the label and the file name.
const labelPrefix = "com.github.omnitray."

// initDir is the directory go-autostart computed in its init().
var initDir = launchAgentsDir()

func launchAgentsDir() string {
	return filepath.Join(os.Getenv("HOME"), "Library", "LaunchAgents")
}

func (e *Entry) label() string { return labelPrefix + e.name }

func (e *Entry) path() (string, error) {
	dir := launchAgentsDir()
	if !filepath.IsAbs(dir) {
		return "", errors.New("cannot find ~/Library/LaunchAgents: HOME is unset")
	}
	return filepath.Join(dir, e.label()+".plist"), nil
}

// app is a fresh go-autostart App for each call (see the package doc).
func (e *Entry) app() *goautostart.App {
	return &goautostart.App{Name: e.label(), DisplayName: e.displayName, Exec: slices.Clone(e.argv)}
}

// read cannot see the Login Items switch of macOS 13+ (that state lives in
// the Background Task Management database, not in the plist), so an entry
// the user switched off there still reads as enabled.
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
	argv, disabled, err := parsePlist(data)
	if err != nil {
		return state{exists: true, enabled: true}, nil // unreadable: Repair rewrites it
	}
	return state{exists: true, enabled: !disabled, argv: argv}, nil
}

// render is the plist for this entry; go-autostart's template does not
// XML-escape, so its file is replaced by this one.
func (e *Entry) render() ([]byte, error) { return plistFile(e.label(), e.argv) }
