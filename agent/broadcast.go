package agent

import (
	"context"
	"reflect"
	"sync"
)

// broadcaster hands state snapshots from the event loop to any number of
// readers without ever blocking the loop: each reader has a one-slot mailbox
// in which a newer snapshot replaces an unread older one.
type broadcaster struct {
	mu       sync.Mutex
	last     State
	watchers map[chan State]struct{}
}

func newBroadcaster() *broadcaster {
	return &broadcaster{watchers: map[chan State]struct{}{}}
}

func (b *broadcaster) publish(s State) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = s
	for ch := range b.watchers {
		select {
		case <-ch: // drop the unread older snapshot
		default:
		}
		ch <- s
	}
}

func (b *broadcaster) latest() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// watch starts with the current snapshot and stops at ctx's end.
func (b *broadcaster) watch(ctx context.Context) <-chan State {
	ch := make(chan State, 1)
	b.mu.Lock()
	ch <- b.last
	b.watchers[ch] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.watchers, ch)
		b.mu.Unlock()
	}()
	return ch
}

func statesEqual(a, b State) bool { return reflect.DeepEqual(a, b) }
