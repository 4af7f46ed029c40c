package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	ss "github.com/zalando/go-keyring/secret_service"

	"github.com/omnitray/omnitray/agent/testdesktop"
)

// These tests run against real D-Bus daemons (make test-desktop). The one on
// the session's shared keyring uses a unique account so that it cannot
// disturb other packages' tests running at the same time; the tests that
// lock the keyring or fake a hung one get a private bus (and a private
// gnome-keyring) and run go-keyring in a child process, because go-keyring
// uses the process-wide dbus.SessionBus(), fixed at its first use.

const childEnv = "OMNITRAY_SECRETS_CHILD"

// needDesktop: these tests use the session's real gnome-keyring.
func needDesktop(t *testing.T) { testdesktop.Need(t) }

func TestDesktopKeyring(t *testing.T) {
	needDesktop(t)
	ctx := context.Background()
	s := Keyring(5 * time.Second).(*keyringStore)
	s.account = fmt.Sprintf("test-%d", os.Getpid())
	const token = "desktop.test-token_1"
	if err := s.Set(ctx, token); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx); err != nil || got != token {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatalf("second Delete = %v, want nil", err)
	}
}

// TestDesktopKeyringLocked: a locked keyring with no prompter makes Get fail
// at once with one line, and unlocking it makes the token readable again.
func TestDesktopKeyringLocked(t *testing.T) {
	needDesktop(t)
	if os.Getenv(childEnv) != t.Name() {
		addr, dir := startPrivateBus(t)
		startPrivateKeyring(t, addr, dir)
		runChild(t, addr)
		return
	}
	ctx := context.Background()
	s := Keyring(5 * time.Second) // the real entry: this keyring is private
	if err := s.Set(ctx, "locked-test-token"); err != nil {
		t.Fatal(err)
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	login := dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	if err := svc.Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{login}).Err; err != nil {
		t.Fatalf("locking: %v", err)
	}
	start := time.Now()
	_, err = s.Get(ctx)
	elapsed := time.Since(start)
	t.Logf("Get on a locked keyring: %v after %s", err, elapsed)
	switch {
	case err == nil || errors.Is(err, ErrNotFound):
		t.Fatalf("Get on a locked keyring = %v, want a failure", err)
	case elapsed > 5*time.Second+time.Second:
		t.Fatalf("Get took %s: the timeout did not hold", elapsed)
	case strings.ContainsAny(err.Error(), "\n\r"):
		t.Fatalf("error is not one line: %q", err)
	case !strings.Contains(err.Error(), "keyring"):
		t.Fatalf("error %q does not name the keyring", err)
	}

	// Unlock without a prompt through gnome-keyring's own interface (what
	// `gnome-keyring-daemon --unlock` does at start), then read again.
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		t.Fatalf("opening a session: %v", err)
	}
	secret := ss.NewSecret(session, keyringPassword())
	if err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0, login, secret).Err; err != nil {
		t.Fatalf("unlocking: %v", err)
	}
	if got, err := s.Get(ctx); err != nil || got != "locked-test-token" {
		t.Fatalf("Get after unlocking = %q, %v", got, err)
	}
}

// TestDesktopKeyringHangs: a Secret Service that asks for a prompt and never
// completes it (what a locked keyring with an unseen dialog does) makes Get
// return ErrTimeout on time.
func TestDesktopKeyringHangs(t *testing.T) {
	needDesktop(t)
	if os.Getenv(childEnv) != t.Name() {
		addr, _ := startPrivateBus(t)
		calls := serveHungKeyring(t, addr)
		runChild(t, addr)
		if calls.Load() == 0 {
			t.Fatal("the child never reached the fake prompt")
		}
		return
	}
	start := time.Now()
	_, err := Keyring(300 * time.Millisecond).Get(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Get against a hung keyring = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Get took %s; the timeout is 300ms", d)
	}
}

func keyringPassword() string {
	if pw := os.Getenv("DESKTOP_KEYRING_PASSWORD"); pw != "" {
		return pw
	}
	return "test-password"
}

// runChild re-runs the calling test in a child whose session bus is addr.
func runChild(t *testing.T, addr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name(), "DBUS_SESSION_BUS_ADDRESS="+addr)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

// startPrivateBus gives the test a bus of its own that activates nothing,
// so a locked keyring cannot pop up a prompter.
func startPrivateBus(t *testing.T) (addr, dir string) { return testdesktop.PrivateBus(t) }

// startPrivateKeyring starts gnome-keyring-daemon on the bus at addr with a
// fresh login collection, unlocked with keyringPassword().
func startPrivateKeyring(t *testing.T, addr, dir string) {
	t.Helper()
	for _, d := range []string{"home", "data", "config", "cache", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	log, err := os.Create(filepath.Join(dir, "keyring.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DBUS_SESSION_BUS_ADDRESS=" + addr,
		"HOME=" + filepath.Join(dir, "home"), "XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"), "NO_AT_BRIDGE=1", "GSETTINGS_BACKEND=memory"}
	cmd.Stdin = strings.NewReader(keyringPassword())
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting gnome-keyring-daemon: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	login := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets/collection/login")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		v, err := login.GetProperty("org.freedesktop.Secret.Collection.Locked")
		if err == nil && v.Value() == false {
			return
		}
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(log.Name())
			t.Fatalf("gnome-keyring did not come up unlocked: %v\n%s", err, logText)
		}
	}
}

// hungService answers Unlock with a prompt; hungPrompt accepts Prompt but
// never emits Completed, so go-keyring waits for the signal forever.
type hungService struct{}

func (hungService) Unlock([]dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	return nil, "/org/freedesktop/secrets/prompt/hung", nil
}

type hungPrompt struct{ calls *atomic.Int32 }

func (p hungPrompt) Prompt(string) *dbus.Error { p.calls.Add(1); return nil }

// serveHungKeyring owns org.freedesktop.secrets on the bus at addr with the
// hung fakes and returns how often Prompt was called.
func serveHungKeyring(t *testing.T, addr string) *atomic.Int32 {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	calls := new(atomic.Int32)
	if err := conn.Export(hungService{}, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service"); err != nil {
		t.Fatal(err)
	}
	if err := conn.Export(hungPrompt{calls}, "/org/freedesktop/secrets/prompt/hung", "org.freedesktop.Secret.Prompt"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.freedesktop.secrets", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning org.freedesktop.secrets: %v (reply %v)", err, reply)
	}
	return calls
}
