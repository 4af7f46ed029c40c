package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/omnitray/omnitray/cmd/internal/cli"
)

func TestReadTokenLine(t *testing.T) {
	long := strings.Repeat("x", maxTokenLine+1)
	for _, tc := range []struct {
		name, in, want string
		usage          bool // want a cli.UsageError
	}{
		{"line", "tok-123\n", "tok-123", false},
		{"no newline", "tok-123", "tok-123", false},
		{"crlf and spaces", "  tok-123 \r\n", "tok-123", false},
		{"first line only", "tok-1\ntok-2\n", "tok-1", false},
		{"empty", "", "", true},
		{"blank line", " \n", "", true},
		{"too long", long, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readTokenLine(strings.NewReader(tc.in))
			var ue *cli.UsageError
			if tc.usage {
				if !errors.As(err, &ue) {
					t.Fatalf("readTokenLine = %q, %v; want a usage error", got, err)
				}
				if strings.TrimSpace(tc.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
					t.Fatalf("error repeats the input: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("readTokenLine = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMergeConfigFile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing string // "" = no file
		updates  map[string]any
		want     map[string]any
		wantErr  string
	}{
		{"new file", "", map[string]any{"hub": "https://hub.example", "insecure": nil},
			map[string]any{"hub": "https://hub.example"}, ""},
		{"keeps other keys", `{"grace": "5m", "lease": 120, "hub": "https://old.example"}`,
			map[string]any{"hub": "http://10.0.0.5:8740", "insecure": true},
			map[string]any{"grace": "5m", "lease": json.Number("120"), "hub": "http://10.0.0.5:8740", "insecure": true}, ""},
		{"drops insecure", `{"hub": "http://10.0.0.5:8740", "insecure": true}`,
			map[string]any{"hub": "https://hub.example", "insecure": nil},
			map[string]any{"hub": "https://hub.example"}, ""},
		{"null file", `null`, map[string]any{"hub": "https://hub.example"},
			map[string]any{"hub": "https://hub.example"}, ""},
		{"refuses a token", `{"token": "abc"}`, map[string]any{"hub": "https://hub.example"}, nil, "holds a token"},
		{"refuses bad JSON", `{"hub": `, map[string]any{"hub": "https://hub.example"}, nil, "parsing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "omnitray") // does not exist yet
			path := filepath.Join(dir, "config.json")
			if tc.existing != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := mergeConfigFile(path, tc.updates)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("mergeConfigFile = %v, want an error with %q", err, tc.wantErr)
				}
				if data, _ := os.ReadFile(path); string(data) != tc.existing {
					t.Fatalf("file changed after an error: %s", data)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.UseNumber()
			var got map[string]any
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("written file is not JSON: %v\n%s", err, data)
			}
			if !jsonEqual(got, tc.want) {
				t.Fatalf("config = %v, want %v", got, tc.want)
			}
			if runtime.GOOS != "windows" {
				if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("config mode = %v, %v; want 0600", fi.Mode().Perm(), err)
				}
				if tc.existing == "" {
					if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
						t.Fatalf("config dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
					}
				}
			}
			if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(leftovers) > 0 {
				t.Fatalf("temporary files left: %v", leftovers)
			}
			// What login writes, 'omnitray run' must be able to read.
			if _, err := readConfigFile(path); err != nil {
				t.Fatalf("readConfigFile: %v", err)
			}
		})
	}
}

func jsonEqual(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestTemporaryBuild(t *testing.T) {
	tmp, _ := filepath.EvalSymlinks(os.TempDir())
	for exe, want := range map[string]bool{
		filepath.Join(tmp, "go-build123", "b001", "exe", "omnitray"): true,
		filepath.Join(tmp, "omnitray"):                               true,
		filepath.FromSlash("/usr/local/bin/omnitray"):                false,
	} {
		if got := temporaryBuild(exe); got != want {
			t.Errorf("temporaryBuild(%s) = %v, want %v", exe, got, want)
		}
	}
}
