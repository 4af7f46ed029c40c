package history

import (
	"sync"
	"time"
)

// Memory is a Store that keeps the newest entries of everyone in a ring of
// fixed size: a hub without a state directory forgets the oldest first.
type Memory struct {
	mu      sync.Mutex
	ring    []Entry
	next    int
	wrapped bool
}

// NewMemory keeps at most size entries (at least 1).
func NewMemory(size int) *Memory { return &Memory{ring: make([]Entry, max(size, 1))} }

// Append records e.
func (m *Memory) Append(e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ring[m.next] = Clean(e)
	m.next = (m.next + 1) % len(m.ring)
	m.wrapped = m.wrapped || m.next == 0
	return nil
}

// Query returns staff's entries after after, oldest first.
func (m *Memory) Query(staff int64, after time.Time, limit int) ([]Entry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pg := page{staff: staff, after: after, limit: limit}
	n := m.next
	start := 0
	if m.wrapped {
		n, start = len(m.ring), m.next
	}
	for i := range n {
		if pg.add(m.ring[(start+i)%len(m.ring)]) {
			return pg.out, true, nil
		}
	}
	return pg.out, false, nil
}

// Close does nothing.
func (m *Memory) Close() error { return nil }
