// Package autostart starts the agent when the user logs in.
//
// Per OS:
//   - Linux and the BSDs: an XDG autostart entry,
//     $XDG_CONFIG_HOME/autostart/<name>.desktop (HOME/.config when unset).
//   - macOS: a LaunchAgent, ~/Library/LaunchAgents/<label>.plist, which
//     takes effect at the next login.
//   - Windows: the value <displayName> under
//     HKCU\Software\Microsoft\Windows\CurrentVersion\Run, written with
//     golang.org/x/sys/windows/registry so builds stay CGO_ENABLED=0 —
//     github.com/emersion/go-autostart's Windows backend needs cgo and is
//     never compiled there.
//   - Elsewhere: every call returns ErrUnsupported.
//
// On Linux and macOS go-autostart does the enabling and disabling, with its
// pitfalls worked around here: its App.Enable quotes App.Exec in place, so a
// fresh App is built for every call; its quoting (strconv.Quote on Linux,
// none at all on macOS) is wrong for Desktop Entry files and plists, so the
// file it wrote is then replaced by one written here with proper escaping
// (Desktop Entry Exec rules, `%` as `%%`; XML escaping in the plist) plus
// Terminal=false and a Comment; its IsEnabled only checks that the file
// exists, so Enabled reads the file instead and honours Hidden=true,
// X-GNOME-Autostart-enabled=false and the plist's Disabled key; and its
// Disable fails on a missing file, which is not an error here.
//
// go-autostart reads XDG_CONFIG_HOME (macOS: HOME) once, in its init(),
// whereas this package reads it at each call. Both agree unless the
// variable changes while the program runs; then go-autostart is skipped and
// the entry goes where the variable now points. (Tests that need another
// XDG_CONFIG_HOME re-run the test binary as a child with the variable set.)
//
// An entry may outlive the binary it names (an update or a move): Repair
// rewrites an enabled entry whose command differs from the current one.
package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrUnsupported is returned on systems without a supported login mechanism.
var ErrUnsupported = errors.New("autostart is not supported on this system")

// Entry is one program's start-at-login entry.
type Entry struct {
	// Comment describes the entry where the desktop shows it (Linux).
	Comment string

	name        string   // file or label base: "omnitray"
	displayName string   // "Omnitray"; also the Windows Run value name
	argv        []string // absolute executable, then its arguments
}

// New describes the entry for exe (absolute, symlinks resolved: see
// DefaultExe) started with args. name is a file-name-safe identifier.
func New(name, displayName, exe string, args []string) *Entry {
	if displayName == "" {
		displayName = name
	}
	return &Entry{
		Comment:     "Start " + displayName + " when you log in",
		name:        name,
		displayName: displayName,
		argv:        append([]string{exe}, args...),
	}
}

// DefaultExe is the running program's path with symlinks resolved, so that
// an entry survives a symlink being repointed only if the target stays.
func DefaultExe() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding this program's path: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", fmt.Errorf("resolving this program's path: %w", err)
	}
	return filepath.Abs(exe)
}

// Command is the command the entry should start: the executable, then its
// arguments.
func (e *Entry) Command() []string { return slices.Clone(e.argv) }

// state is what the OS holds for the entry.
type state struct {
	exists  bool
	enabled bool     // exists and not switched off by the user
	argv    []string // what it starts; nil when it could not be read
}

// Enabled reports whether the entry exists and is switched on.
func (e *Entry) Enabled() (bool, error) {
	st, err := e.read()
	if err != nil {
		return false, fmt.Errorf("reading the autostart entry: %w", err)
	}
	return st.enabled, nil
}

// Current returns the command the existing entry starts, or nil when there
// is no entry or its command cannot be read.
func (e *Entry) Current() ([]string, error) {
	st, err := e.read()
	if err != nil {
		return nil, fmt.Errorf("reading the autostart entry: %w", err)
	}
	return st.argv, nil
}

// Enable writes the entry, replacing any previous one (and switching it
// back on if the user had switched it off).
func (e *Entry) Enable() error {
	if err := e.check(); err != nil {
		return fmt.Errorf("enabling autostart: %w", err)
	}
	if err := e.write(); err != nil {
		return fmt.Errorf("enabling autostart: %w", err)
	}
	return nil
}

// Disable removes the entry; a missing entry is not an error.
func (e *Entry) Disable() error {
	if err := e.checkName(); err != nil {
		return fmt.Errorf("disabling autostart: %w", err)
	}
	if err := e.remove(); err != nil {
		return fmt.Errorf("disabling autostart: %w", err)
	}
	return nil
}

// Repair rewrites an enabled entry whose command differs from Command (the
// binary moved or was reinstalled elsewhere) and reports whether it did. A
// missing or switched-off entry is left alone: that is the user's choice.
func (e *Entry) Repair() (bool, error) {
	st, err := e.read()
	if err != nil {
		return false, fmt.Errorf("reading the autostart entry: %w", err)
	}
	if !st.enabled || slices.Equal(st.argv, e.argv) {
		return false, nil
	}
	if err := e.Enable(); err != nil {
		return false, err
	}
	return true, nil
}

// checkName refuses names that would leave the autostart directory.
func (e *Entry) checkName() error {
	if e.name == "" || strings.ContainsAny(e.name, `/\:`) || e.name[0] == '.' {
		return fmt.Errorf("bad entry name %q", e.name)
	}
	return nil
}

// check also wants an absolute program: a login session's working
// directory is not ours.
func (e *Entry) check() error {
	if err := e.checkName(); err != nil {
		return err
	}
	if !filepath.IsAbs(e.argv[0]) {
		return fmt.Errorf("the program path %q is not absolute", e.argv[0])
	}
	return nil
}
