package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Paths of the binaries TestMain builds; empty when the package is skipped.
var (
	omnitrayBin string
	hubBin      string
	skipReason  string
)

// TestMain builds the two binaries once per test run. They are built without
// -race even under `go test -race`: the product is what is under test here,
// and a race-instrumented agent would only make the timing checks flakier.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(m.Run()) // a helper child (see keyring_test.go): no binaries needed
	}
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	goBin, err := exec.LookPath("go")
	if err != nil {
		skipReason = "the go command is not on PATH; cannot build the binaries"
		return m.Run()
	}
	// The test runs in cmd/internal/e2e; the module root is three levels up.
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: finding the module root:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "omnitray-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(goBin, "build", "-o", dir+string(filepath.Separator),
		"./cmd/omnitray", "./cmd/omnitray-hub")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build failed: %v\n%s", err, out)
		return 1
	}
	omnitrayBin = filepath.Join(dir, "omnitray")
	hubBin = filepath.Join(dir, "omnitray-hub")
	return m.Run()
}

// needBinaries skips a test when TestMain could not build the binaries.
func needBinaries(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}
