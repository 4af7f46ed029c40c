package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

func TestValidateToken(t *testing.T) {
	for _, tc := range []struct {
		name, token string
		ok          bool
	}{
		{"plain", "eyJhbGciOi.x-y_z~", true},
		{"max length", strings.Repeat("a", MaxTokenLen), true},
		{"unicode", "tökén", true},
		{"empty", "", false},
		{"too long", strings.Repeat("a", MaxTokenLen+1), false},
		{"space", "abc def", false},
		{"newline", "abc\n", false},
		{"tab", "\tabc", false},
		{"nbsp", "abc\u00a0def", false},
		{"control", "abc\x00def", false},
		{"bad utf8", "abc\xffdef", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateToken(tc.token)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateToken = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && tc.token != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.token)) {
				t.Fatalf("error %q contains the token", err)
			}
		})
	}
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	s := Memory()
	if _, err := s.Get(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on empty = %v, want ErrNotFound", err)
	}
	if err := s.Set(ctx, "bad token"); err == nil {
		t.Fatal("Set accepted a token with a space")
	}
	if err := s.Set(ctx, "tok1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx); err != nil || got != "tok1" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	for range 2 { // deleting twice is fine
		if err := s.Delete(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Get(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
}

// fake is an in-memory backend whose calls can be made to block or fail.
type fake struct {
	mu      sync.Mutex
	val     string
	has     bool
	err     error
	release chan struct{} // when non-nil, calls wait for it
}

func (f *fake) wait() {
	f.mu.Lock()
	ch := f.release
	f.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (f *fake) backend() backend {
	return backend{
		get: func(_, _ string) (string, error) {
			f.wait()
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.err != nil {
				return "", f.err
			}
			if !f.has {
				return "", keyring.ErrNotFound
			}
			return f.val, nil
		},
		set: func(_, _, pw string) error {
			f.wait()
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.err != nil {
				return f.err
			}
			f.val, f.has = pw, true
			return nil
		},
		del: func(_, _ string) error {
			f.wait()
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.err != nil {
				return f.err
			}
			if !f.has {
				return keyring.ErrNotFound
			}
			f.has = false
			return nil
		},
	}
}

func newFakeStore(f *fake, timeout time.Duration) *keyringStore {
	return &keyringStore{timeout: timeout, b: f.backend(), slot: make(chan struct{}, 1)}
}

func TestKeyringStoreMapping(t *testing.T) {
	ctx := context.Background()
	f := &fake{}
	s := newFakeStore(f, time.Second)
	if _, err := s.Get(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on empty = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatalf("Delete of a missing token = %v, want nil", err)
	}
	if err := s.Set(ctx, ""); err == nil {
		t.Fatal("Set accepted an empty token")
	}
	if err := s.Set(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	f.val = "tok\n" // as saved by another tool
	if got, err := s.Get(ctx); err != nil || got != "tok" {
		t.Fatalf("Get = %q, %v; want the trimmed token", got, err)
	}
	f.err = errors.New("org.freedesktop.secrets was not provided by any .service files")
	_, err := s.Get(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "reading the keyring: ") || !errors.Is(err, f.err) {
		t.Fatalf("Get with a failing keyring = %v", err)
	}
}

func TestKeyringStoreNeverLeaksToken(t *testing.T) {
	const token = "s3cr3t-t0ken"
	f := &fake{err: fmt.Errorf("exit status 1: could not add %s", token)}
	err := newFakeStore(f, time.Second).Set(context.Background(), token)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("Set error = %v; want an error without the token", err)
	}
	err = newFakeStore(f, time.Second).Set(context.Background(), token+" x")
	if err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("Set(invalid) error = %v; want an error without the token", err)
	}
}

func TestKeyringStoreTimeout(t *testing.T) {
	f := &fake{release: make(chan struct{})}
	s := newFakeStore(f, 50*time.Millisecond)
	start := time.Now()
	_, err := s.Get(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Get against a hung keyring = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Get took %s; the timeout is 50ms", d)
	}
	if want := "the keyring did not answer within 50ms (is it locked?)"; err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
	// While the first call is stuck, later calls wait for it and time out
	// too rather than start a second stuck goroutine.
	if err := s.Set(context.Background(), "tok"); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Set while a call is stuck = %v, want ErrTimeout", err)
	}
	// A cancelled caller gets its own error, not a timeout.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Delete(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete with a cancelled context = %v, want context.Canceled", err)
	}
	// Once the keyring answers, the slot is free again.
	close(f.release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.Set(context.Background(), "tok")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Set after the keyring recovered = %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKeyringStorePanic(t *testing.T) {
	s := &keyringStore{timeout: time.Second, slot: make(chan struct{}, 1), b: backend{
		get: func(_, _ string) (string, error) { panic("interface conversion") },
	}}
	if _, err := s.Get(context.Background()); err == nil || !strings.Contains(err.Error(), "keyring library failed") {
		t.Fatalf("Get with a panicking library = %v", err)
	}
	if _, err := s.Get(context.Background()); err == nil || errors.Is(err, ErrTimeout) {
		t.Fatalf("second Get = %v; the slot should have been released", err)
	}
}

// TestKeyringUnavailableSaysTheWayOut: where no keyring can be reached (no
// D-Bus, no Secret Service), the error names the way out — OMNITRAY_TOKEN
// with --headless, or unlocking the desktop's keyring — not only the
// platform's "dbus-launch: executable file not found" (issue 11 §5).
func TestKeyringUnavailableSaysTheWayOut(t *testing.T) {
	ctx := context.Background()
	for _, platform := range []string{
		`exec: "dbus-launch": executable file not found in $PATH`,
		"dbus: couldn't determine address of session bus",
		"The name org.freedesktop.secrets was not provided by any .service files",
	} {
		f := &fake{err: errors.New(platform)}
		s := newFakeStore(f, time.Second)
		err := s.Set(ctx, "tok")
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, f.err) {
			t.Fatalf("%s: Set = %v, want ErrUnavailable wrapping the platform error", platform, err)
		}
		for _, want := range []string{"saving to the keyring: no keyring is reachable", platform, "OMNITRAY_TOKEN", "--headless", "unlock the keyring"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: Set error %q lacks %q", platform, err, want)
			}
		}
		if _, err := s.Get(ctx); !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(err.Error(), "reading the keyring: ") {
			t.Errorf("%s: Get = %v, want ErrUnavailable", platform, err)
		}
	}
	// A keyring that answered with a failure is not "unreachable".
	f := &fake{err: errors.New("org.freedesktop.Secret.Error.IsLocked")}
	if err := newFakeStore(f, time.Second).Set(ctx, "tok"); errors.Is(err, ErrUnavailable) {
		t.Fatalf("Set = %v: a locked keyring is not an absent one", err)
	}
}
