package hub

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var storeSecret = []byte("0123456789abcdef0123456789abcdef")

func mustIssue(t *testing.T, dir string, staff int64, now time.Time) (string, Claims) {
	t.Helper()
	tok, c, err := IssueToken(dir, storeSecret, staff, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok, c
}

func registry(t *testing.T, dir string) TokenRegistry {
	t.Helper()
	r, err := ReadTokenRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTokenRegistryRevokesByID(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tok, a := mustIssue(t, dir, 201, now)
	_, b := mustIssue(t, dir, 201, now)
	none := func(string) (Claims, bool) { return Claims{}, false }
	if err := RevokeToken(dir, a.ID, none, now); err != nil {
		t.Fatal(err)
	}
	r := registry(t, dir)
	if !r.IsRevoked(a) || r.IsRevoked(b) {
		t.Fatalf("after revoking %s: revoked(a)=%v revoked(b)=%v", a.ID, r.IsRevoked(a), r.IsRevoked(b))
	}
	if len(r.Tokens) != 2 {
		t.Fatalf("%d tokens recorded, want 2", len(r.Tokens))
	}
	// A typo must not read as a revocation.
	if err := RevokeToken(dir, "no-such-id", none, now); err == nil || !strings.Contains(err.Error(), "no-such-id") {
		t.Fatalf("revoking an unknown id: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, TokensFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("tokens.json: %v, %v; want mode 0600", fi, err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, TokensFileName))
	_, sig, _ := strings.Cut(strings.TrimPrefix(tok, tokenPrefix), ".")
	body, _, _ := strings.Cut(strings.TrimPrefix(tok, tokenPrefix), ".")
	if strings.Contains(string(data), sig) || strings.Contains(string(data), body) {
		t.Fatal("tokens.json holds the token itself")
	}
}

func TestTokenRegistryRevokesUnregisteredTokenByID(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	_, c, err := Issue(storeSecret, 202, now.Add(-time.Hour), 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	seen := func(id string) (Claims, bool) { return c, id == c.ID }
	if err := RevokeToken(dir, c.ID, seen, now); err != nil {
		t.Fatal(err)
	}
	if r := registry(t, dir); !r.IsRevoked(c) {
		t.Fatal("a token only the hub had seen was not revoked by id")
	}
}

// Revoking by staff catches every token issued up to the cut-off, tokens
// signed before the registry existed included, but neither another staff
// member's nor one issued later — even in the same second.
func TestTokenRegistryRevokesByStaffCutoff(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 9, 0, 0, 400_000_000, time.UTC)
	_, registered := mustIssue(t, dir, 203, now.Add(-time.Minute))
	_, sameSecond := mustIssue(t, dir, 203, now)
	_, preRegistry, err := Issue(storeSecret, 203, now.Add(-24*time.Hour), 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, other := mustIssue(t, dir, 201, now)
	if err := RevokeStaff(dir, 203, now); err != nil {
		t.Fatal(err)
	}
	_, after := mustIssue(t, dir, 203, now.Add(300*time.Millisecond)) // still the cut-off's second
	r := registry(t, dir)
	for name, c := range map[string]Claims{"registered": registered, "same second, before": sameSecond, "pre-registry": preRegistry} {
		if !r.IsRevoked(c) {
			t.Errorf("%s token of staff 203 not revoked", name)
		}
	}
	if r.IsRevoked(other) {
		t.Error("staff 201's token revoked with staff 203's")
	}
	if r.IsRevoked(after) {
		t.Errorf("a token issued after the revocation, in its second, is caught by it (iat %v)", after.Issued)
	}
	if !after.Issued.After(now) || after.Expires.Sub(after.Issued) != time.Hour {
		t.Errorf("token after the cut-off: issued %v, expires %v", after.Issued, after.Expires)
	}
	// A second revocation moves the cut-off on, never back.
	if err := RevokeStaff(dir, 203, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := registry(t, dir); !r.IsRevoked(sameSecond) || len(r.StaffRevoked) != 1 {
		t.Fatalf("an earlier cut-off moved the later one back: %+v", r.StaffRevoked)
	}
}

// Two token commands at once each read, change and write the file; the lock
// keeps either from overwriting the other's revocation.
func TestTokenRegistryConcurrentRevocationsAllKept(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- RevokeStaff(dir, int64(1000+i), now) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if r := registry(t, dir); len(r.StaffRevoked) != n {
		t.Fatalf("%d staff revocations kept of %d", len(r.StaffRevoked), n)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.lock")); len(left) != 0 {
		t.Fatalf("lock files left: %v", left)
	}
}

func TestTokenRegistryTakesOverAStaleLock(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, TokensFileName+".lock")
	if err := os.WriteFile(lock, []byte("4242\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	if err := RevokeStaff(dir, 7, time.Now()); err != nil {
		t.Fatalf("a lock left by a dead command blocks: %v", err)
	}
}

func TestTokenRegistryDamagedFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, TokensFileName)
	for _, bad := range []string{`{"version":1,"tokens":[`, `{"version":9}`, `[]`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadTokenRegistry(dir); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: read error %v, want one naming %s", bad, err, path)
		}
		if err := RevokeStaff(dir, 7, time.Now()); err == nil {
			t.Errorf("%q: a revocation was written over a damaged registry", bad)
		}
		if got, _ := os.ReadFile(path); string(got) != bad {
			t.Errorf("%q: the damaged file was replaced by %q", bad, got)
		}
	}
	if _, err := newTokenGuard(Config{StateDir: dir}); err == nil {
		t.Error("the hub starts with a damaged token registry, which would lift every revocation")
	}
}

func TestParseTokenTTLBounds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration // 0: refused
	}{
		{"720h", 720 * time.Hour},
		{"1m", time.Minute},
		{"8760h", 8760 * time.Hour},
		{"90m", 90 * time.Minute},
		{"59s", 0},
		{"0", 0},
		{"-1h", 0},
		{"8760h1s", 0},
		{"10000h", 0},
		{"87600h", 0},
		{"2562047h", 0},                 // the largest whole hour a Duration holds
		{"2562048h", 0},                 // one more overflows
		{"18446744103s", 0},             // overflows as nanoseconds
		{"9223372036854775807ns", 0},    // math.MaxInt64
		{"99999999999999999999999h", 0}, // past any integer
		{"1y", 0},
		{"", 0},
		{"720", 0},
	} {
		got, err := ParseTokenTTL(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("--ttl %q accepted as %v", tc.in, got)
			} else if !strings.Contains(err.Error(), "--ttl") || !strings.Contains(err.Error(), "8760h") || strings.Contains(err.Error(), "\n") {
				t.Errorf("--ttl %q: %q does not name the flag and the range on one line", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("--ttl %q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, _, err := IssueToken(t.TempDir(), storeSecret, 1, time.Now(), 10000*time.Hour); err == nil {
		t.Error("IssueToken signed a token for 10000h")
	}
}

func ExampleParseTokenTTL() {
	_, err := ParseTokenTTL("10000h")
	fmt.Println(err)
	// Output: --ttl 10000h is out of range: it must be between 1m and 8760h (1 year), e.g. 720h
}
