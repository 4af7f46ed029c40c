package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zalando/go-keyring"
)

// DefaultTimeout is used when Keyring is given no timeout. It is long enough
// for a slow D-Bus activation of the keyring daemon and short enough that a
// locked keyring does not look like a hung program.
const DefaultTimeout = 5 * time.Second

// backend is the part of go-keyring the store uses; tests swap in fakes.
type backend struct {
	get func(service, user string) (string, error)
	set func(service, user, password string) error
	del func(service, user string) error
}

var goKeyring = backend{get: keyring.Get, set: keyring.Set, del: keyring.Delete}

// inFlight admits one keyring call per process at a time, so that a call
// stuck inside go-keyring is the only goroutine left behind (package doc).
var inFlight = make(chan struct{}, 1)

// Keyring returns the Store backed by the OS keyring. Every call gives up
// after timeout (DefaultTimeout if timeout <= 0) with an error matching
// ErrTimeout.
func Keyring(timeout time.Duration) Store {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &keyringStore{timeout: timeout, b: goKeyring, slot: inFlight, service: Service, account: Account}
}

type keyringStore struct {
	timeout          time.Duration
	b                backend
	slot             chan struct{}
	service, account string // Service and Account, except in tests on a shared keyring
}

func (k *keyringStore) Get(ctx context.Context) (string, error) {
	v, err := call(ctx, k, "", func() (string, error) { return k.b.get(k.service, k.account) })
	if errors.Is(err, keyring.ErrNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", wrap("reading the keyring", err)
	}
	// Another tool (secret-tool store, say) may have saved a trailing newline.
	v = strings.TrimSpace(v)
	if v == "" {
		return "", ErrNotFound
	}
	return v, nil
}

func (k *keyringStore) Set(ctx context.Context, token string) error {
	if err := ValidateToken(token); err != nil {
		return fmt.Errorf("saving the token: %w", err)
	}
	_, err := call(ctx, k, token, func() (struct{}, error) {
		return struct{}{}, k.b.set(k.service, k.account, token)
	})
	return wrap("saving to the keyring", err)
}

func (k *keyringStore) Delete(ctx context.Context) error {
	_, err := call(ctx, k, "", func() (struct{}, error) {
		return struct{}{}, k.b.del(k.service, k.account)
	})
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return wrap("deleting from the keyring", err)
}

// call runs f in its own goroutine and waits for it, for ctx, or for the
// store's timeout, whichever comes first. secret, when set, is scrubbed from
// any error f returns.
func call[T any](ctx context.Context, k *keyringStore, secret string, f func() (T, error)) (T, error) {
	var zero T
	ctx, cancel := context.WithTimeoutCause(ctx, k.timeout, timeoutError{k.timeout})
	defer cancel()
	select {
	case k.slot <- struct{}{}:
	case <-ctx.Done():
		return zero, context.Cause(ctx)
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: a late answer must not block the goroutine
	go func() {
		// The slot is released when go-keyring returns, not when the caller
		// gives up: that is what bounds the stuck goroutines to one.
		defer func() { <-k.slot }()
		defer func() {
			if p := recover(); p != nil { // go-keyring type-asserts D-Bus replies
				done <- result{err: redact(fmt.Errorf("the keyring library failed: %v", p), secret)}
			}
		}()
		v, err := f()
		done <- result{v, redact(err, secret)}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, context.Cause(ctx)
	}
}

// wrap adds the operation to err. Timeouts already name the keyring and
// stay as they are; go-keyring's "failed to unlock" gets a hint.
func wrap(verb string, err error) error {
	var te timeoutError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return err
	case strings.Contains(err.Error(), "failed to unlock"):
		return fmt.Errorf("%s: %w (the keyring is locked; unlock it and retry)", verb, err)
	case unreachable(err):
		return &unavailableError{verb: verb, err: err}
	}
	return fmt.Errorf("%s: %w", verb, err)
}

// ErrUnavailable matches (errors.Is) the error of a keyring call on a
// computer where no keyring can be reached at all: no D-Bus session bus, or
// no Secret Service on it (a server, a container, an SSH login).
var ErrUnavailable = errors.New("no keyring is reachable")

// unavailableError says, after the platform's reason, the two ways out: a
// computer without a desktop session uses OMNITRAY_TOKEN and --headless; a
// desktop must be signed in to, with its keyring unlocked.
type unavailableError struct {
	verb string
	err  error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("%s: no keyring is reachable (%v); without a desktop session, skip the keyring: "+
		"set OMNITRAY_TOKEN and run 'omnitray run --headless'; on a desktop, sign in to it and unlock the keyring",
		e.verb, e.err)
}

func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// unreachable reports whether a go-keyring error means there is no keyring
// to talk to, as opposed to one that answered with a failure. These are the
// texts of godbus (no session bus, no dbus-launch to start one) and of the
// bus (nothing provides the Secret Service), as seen on servers and in CI.
func unreachable(err error) bool {
	msg := err.Error()
	for _, s := range []string{
		`"dbus-launch"`,
		"couldn't determine address of session bus",
		"DBUS_SESSION_BUS_ADDRESS",
		"org.freedesktop.secrets was not provided",
		"org.freedesktop.DBus.Error.ServiceUnknown",
		"org.freedesktop.DBus.Error.NoServer",
		"org.freedesktop.DBus.Error.Spawn",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// redact replaces err when its text contains the secret, so that no later
// log line or message can leak it.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New("the keyring failed (details withheld: they contained the token)")
}
