// Package secrets keeps the agent's hub token in the OS keyring (Secret
// Service on Linux/BSD, the login keychain on macOS, Credential Manager on
// Windows) through github.com/zalando/go-keyring.
//
// Why a timeout wraps every call: on Linux, go-keyring asks the Secret
// Service to unlock the collection first, and if the keyring is locked the
// daemon may show a prompt and go-keyring then waits for the prompt's signal
// with no timeout at all; a bus whose daemon never answers blocks the same
// way. An agent that called it unguarded would hang at start-up. So each call
// runs in its own goroutine and the caller gives up after the timeout with
// ErrTimeout.
//
// The cost: go-keyring cannot be cancelled, so a timed-out goroutine lingers
// until the keyring answers (possibly never). Calls are serialised — one
// keyring call in flight per process — so at most one such goroutine exists
// at a time: while it is stuck, later calls wait for it and time out too
// instead of piling up more blocked goroutines and D-Bus match rules.
//
// The token never appears in an error, a log line, a file or an argument:
// errors name the operation, never the value, and an error from the
// platform that happens to contain the token is replaced.
//
// Read the token once at start-up, before the tray starts: go-keyring shares
// the process's session-bus connection with the tray, and a hang there must
// not freeze the menu.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	// Service and Account name the keyring entry that holds the token.
	Service = "omnitray"
	Account = "hub-token"

	// MaxTokenLen keeps tokens well under the smallest platform limit
	// (Windows Credential Manager: 2560 bytes; macOS: ~3000 bytes for the
	// whole `security` command).
	MaxTokenLen = 2000
)

// ErrNotFound means no token is stored.
var ErrNotFound = errors.New("no hub token stored; run 'omnitray login'")

// ErrTimeout matches (errors.Is) the error returned when the keyring did
// not answer in time; that error's text also says how long we waited.
var ErrTimeout = errors.New("the keyring did not answer in time (is it locked?)")

// timeoutError is the concrete timeout error: it carries the wait so the
// message can say it, and it Is ErrTimeout.
type timeoutError struct{ after time.Duration }

func (e timeoutError) Error() string {
	return fmt.Sprintf("the keyring did not answer within %s (is it locked?)", e.after)
}

func (e timeoutError) Is(target error) bool { return target == ErrTimeout }

// Store holds the hub token.
type Store interface {
	// Get returns the token, or an error matching ErrNotFound.
	Get(ctx context.Context) (string, error)
	// Set stores token, replacing any previous one; it refuses an invalid token.
	Set(ctx context.Context, token string) error
	// Delete removes the token; a missing token is not an error.
	Delete(ctx context.Context) error
}

// ValidateToken checks what a hub token may be: non-empty, at most
// MaxTokenLen bytes of UTF-8, no whitespace or control characters (a pasted
// newline or space would otherwise be stored and sent). Its errors describe
// the problem by position, never by content.
func ValidateToken(token string) error {
	switch {
	case token == "":
		return errors.New("the token is empty")
	case len(token) > MaxTokenLen:
		return fmt.Errorf("the token is %d bytes long; at most %d are accepted", len(token), MaxTokenLen)
	case !utf8.ValidString(token):
		return errors.New("the token is not valid UTF-8")
	}
	for i, r := range token {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("the token has whitespace or a control character at byte %d", i)
		}
	}
	return nil
}

// Memory returns an in-process Store for tests of other packages. It
// validates like the keyring store.
func Memory() Store { return &memory{} }

type memory struct {
	mu    sync.Mutex
	token string
}

func (m *memory) Get(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.token == "" {
		return "", ErrNotFound
	}
	return m.token, nil
}

func (m *memory) Set(ctx context.Context, token string) error {
	if err := ValidateToken(token); err != nil {
		return fmt.Errorf("saving the token: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.token = token
	return nil
}

func (m *memory) Delete(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.token = ""
	return nil
}
