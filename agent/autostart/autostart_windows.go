//go:build windows

package autostart

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// The Run key starts each value's command line at login. Task Manager's
// and Settings' startup switch is kept apart, in StartupApproved\Run: a
// binary value whose first byte is odd (0x03) means switched off.
const (
	runKey      = `Software\Microsoft\Windows\CurrentVersion\Run`
	approvedKey = `Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run`
)

func (e *Entry) read() (state, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("opening HKCU\\%s: %w", runKey, err)
	}
	defer k.Close()
	cmdline, _, err := k.GetStringValue(e.displayName)
	if errors.Is(err, registry.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("reading HKCU\\%s\\%s: %w", runKey, e.displayName, err)
	}
	st := state{exists: true, enabled: !e.switchedOff()}
	if argv, err := windows.DecomposeCommandLine(cmdline); err == nil {
		st.argv = argv
	}
	return st, nil
}

// switchedOff reports the user's switch in Task Manager or Settings.
func (e *Entry) switchedOff() bool {
	k, err := registry.OpenKey(registry.CURRENT_USER, approvedKey, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	b, _, err := k.GetBinaryValue(e.displayName)
	return err == nil && len(b) > 0 && b[0]&1 == 1
}

func (e *Entry) write() error {
	if err := plainText(e.displayName); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	for i, a := range e.argv {
		if err := plainText(a); err != nil {
			return fmt.Errorf("argument %d: %w", i, err)
		}
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("opening HKCU\\%s: %w", runKey, err)
	}
	defer k.Close()
	if err := k.SetStringValue(e.displayName, windows.ComposeCommandLine(e.argv)); err != nil {
		return fmt.Errorf("writing HKCU\\%s\\%s: %w", runKey, e.displayName, err)
	}
	// An explicit Enable overrides an earlier "off" in Task Manager.
	return deleteValue(approvedKey, e.displayName)
}

func (e *Entry) remove() error {
	if err := deleteValue(runKey, e.displayName); err != nil {
		return err
	}
	return deleteValue(approvedKey, e.displayName)
}

// deleteValue removes HKCU\key\name; a missing key or value is fine.
func deleteValue(key, name string) error {
	k, err := registry.OpenKey(registry.CURRENT_USER, key, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening HKCU\\%s: %w", key, err)
	}
	defer k.Close()
	if err := k.DeleteValue(name); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("deleting HKCU\\%s\\%s: %w", key, name, err)
	}
	return nil
}
