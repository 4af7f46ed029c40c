package e2e

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHubCutsOffSlowClients: a client that opens a connection and dribbles
// an unfinished request (slowloris) is disconnected by the hub's header
// timeout instead of holding a connection forever.
func TestHubCutsOffSlowClients(t *testing.T) {
	s := startStack(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.hubURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: hub\r\n"); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(guard))
	buf := make([]byte, 512)
	for {
		if _, err := conn.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the hub kept a half-sent request open for %v", guard)
			}
			break // closed by the hub (EOF or reset), possibly after a 408
		}
	}
	t.Logf("slow client cut off after %v", time.Since(began).Round(100*time.Millisecond))
}

// assertNoTokenInFiles walks the directories a test's processes could
// write to and fails if the token is in any file.
func assertNoTokenInFiles(t testing.TB, token string, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), token) {
				t.Errorf("the hub token is in %s", path)
			}
			return nil
		})
	}
}
