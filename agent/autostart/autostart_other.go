//go:build !linux && !freebsd && !openbsd && !netbsd && !dragonfly && !windows && (!darwin || ios)

package autostart

func (e *Entry) read() (state, error) { return state{}, ErrUnsupported }
func (e *Entry) write() error         { return ErrUnsupported }
func (e *Entry) remove() error        { return ErrUnsupported }
