//go:build (darwin && !ios) || linux || freebsd || openbsd || netbsd || dragonfly

package autostart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/omnitray/omnitray/internal/atomicfile"
)

// write lets go-autostart create the entry (the product names it for
// Linux and macOS), then replaces its file with the correctly quoted one.
// Rendering comes first, so bad input leaves no file behind.
func (e *Entry) write() error {
	path, err := e.path()
	if err != nil {
		return err
	}
	data, err := e.render()
	if err != nil {
		return err
	}
	// go-autostart read its directory once at start-up; it is only used
	// while that is still the directory in force.
	if filepath.Dir(path) == initDir {
		if err := e.app().Enable(); err != nil {
			return fmt.Errorf("go-autostart: %w", err)
		}
	}
	return atomicfile.Write(path, data, 0o644) // the session manager reads it
}

func (e *Entry) remove() error {
	path, err := e.path()
	if err != nil {
		return err
	}
	if filepath.Dir(path) == initDir {
		if err := e.app().Disable(); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("go-autostart: %w", err)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
