// Package syncbuf is a bytes.Buffer safe to write from one goroutine (a
// logger, a child process's output) while another reads it: the log sink of
// tests in several packages, which each had their own copy.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a locked bytes.Buffer. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
