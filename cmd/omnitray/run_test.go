package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omnitray/omnitray/cmd/internal/cli"
)

// TestAgentDurationErrors: each way of giving `omnitray run` a bad duration
// gets a message naming that way and the accepted form (issue 11 §5).
func TestAgentDurationErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		config string
		want   string
	}{
		{name: "flag", args: []string{"--grace", "5x"}, want: "--grace 5x: not a duration; want a Go duration such as 90s or 3m"},
		{name: "variable", env: map[string]string{"OMNITRAY_GRACE": "5x"}, want: "OMNITRAY_GRACE=5x: not a duration; want a Go duration such as 90s or 3m"},
		{name: "config number", config: `{"grace": 30}`, want: `"grace": 30 in config `},
		{name: "config number form", config: `{"grace": 30}`, want: "a number needs a unit; want a Go duration such as 90s or 3m"},
		{name: "variable zero", env: map[string]string{"OMNITRAY_GRACE": "0"}, want: "OMNITRAY_GRACE=0: must be at least 1s (a Go duration such as 90s or 3m)"},
		{name: "lease variable", env: map[string]string{"OMNITRAY_LEASE": "0s"}, want: "OMNITRAY_LEASE=0s: must be at least 1s"},
		{name: "drift config", config: `{"drift-check": "10ms"}`, want: `"drift-check": 10ms in config`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"OMNITRAY_GRACE", "OMNITRAY_LEASE", "OMNITRAY_HUB_URL", "OMNITRAY_CONFIG"} {
				t.Setenv(k, tc.env[k])
			}
			path := filepath.Join(t.TempDir(), "config.json")
			if tc.config == "" {
				tc.config = "{}"
			}
			if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			f := newAgentFlags("run", "omnitray run")
			err := f.parse(append([]string{"--config", path}, tc.args...))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "parse error") {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.HasPrefix(tc.name, "variable") && strings.Contains(err.Error(), "--grace") {
				t.Fatalf("got %q: blames the flag for a variable's value", err)
			}
		})
	}
}

// TestAgentHubList: --hub, OMNITRAY_HUB_URL and the config's "hub" take the
// hub's URL or its replicas' separated by commas. A bad list is a usage
// error naming where it was given and the accepted form, without repeating
// the list, which may hold a secret.
func TestAgentHubList(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     string // OMNITRAY_HUB_URL
		config  string
		want    string // the hub setting after parse
		wantErr string // part of the error; "" = none
	}{
		{name: "one", args: []string{"--hub", "https://hub.acme.example"}, want: "https://hub.acme.example"},
		{name: "two", args: []string{"--hub", "https://a.acme.example:8740,https://b.acme.example:8740"},
			want: "https://a.acme.example:8740,https://b.acme.example:8740"},
		{name: "spaces", env: " https://a.acme.example:8740 ,\thttps://b.acme.example:8740 ",
			want: "https://a.acme.example:8740,https://b.acme.example:8740"},
		{name: "config list", config: `{"hub": "https://a.acme.example, https://b.acme.example"}`,
			want: "https://a.acme.example,https://b.acme.example"},
		{name: "blank is not given", env: "   ", want: ""},
		{name: "insecure from config", args: []string{"--hub", "https://a.acme.example,http://10.0.0.5:8740"},
			config: `{"insecure": true}`, want: "https://a.acme.example,http://10.0.0.5:8740"},
		{name: "empty item flag", args: []string{"--hub", "https://a.acme.example,,https://b.acme.example"},
			wantErr: "--hub: hub URL 2 of 3 is empty (accepted: the hub's URL such as https://hub.example:8740, or its replicas' URLs separated by commas)"},
		{name: "trailing comma variable", env: "https://a.acme.example,",
			wantErr: "OMNITRAY_HUB_URL: hub URL 2 of 2 is empty (accepted: "},
		{name: "empty item config", config: `{"hub": ",https://a.acme.example"}`,
			wantErr: `"hub" in config `},
		{name: "bad scheme", args: []string{"--hub", "https://a.acme.example,ftp://b.acme.example"},
			wantErr: `--hub: hub URL 2 of 2: unsupported scheme "ftp", want https or http`},
		{name: "plain http", env: "https://a.acme.example,http://10.0.0.5:8740",
			wantErr: "OMNITRAY_HUB_URL: hub URL 2 of 2: plain http to 10.0.0.5 would expose the token"},
		{name: "credentials", args: []string{"--hub", "https://user:secret@a.acme.example"},
			wantErr: "--hub: hub URL: credentials do not belong in the URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"OMNITRAY_GRACE", "OMNITRAY_LEASE", "OMNITRAY_CONFIG"} {
				t.Setenv(k, "")
			}
			t.Setenv("OMNITRAY_HUB_URL", tc.env)
			path := filepath.Join(t.TempDir(), "config.json")
			if tc.config == "" {
				tc.config = "{}"
			}
			if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			f := newAgentFlags("run", "omnitray run")
			err := f.parse(append([]string{"--config", path}, tc.args...))
			if tc.wantErr == "" {
				if err != nil || *f.hub != tc.want {
					t.Fatalf("parse: hub %q, %v; want %q", *f.hub, err, tc.want)
				}
				return
			}
			var ue *cli.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want a usage error containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "acme.example") || strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %q repeats the hub setting", err)
			}
		})
	}
}

// 'omnitray login --hub' checks the list before it asks for the token, with
// the same message as 'omnitray run'.
func TestLoginHubList(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     string
		wantErr string
	}{
		{[]string{"--hub", "https://a.acme.example,,https://b.acme.example"}, "", "--hub: hub URL 2 of 3 is empty (accepted: "},
		{nil, "https://a.acme.example, ", "OMNITRAY_HUB_URL: hub URL 2 of 2 is empty"},
		{[]string{"--hub", "http://10.0.0.5:8740,https://a.acme.example"}, "", "--hub: hub URL 1 of 2: plain http to 10.0.0.5"},
	} {
		t.Setenv("OMNITRAY_HUB_URL", tc.env)
		t.Setenv("OMNITRAY_CONFIG", filepath.Join(t.TempDir(), "config.json"))
		err := runLogin(context.Background(), tc.args)
		var ue *cli.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("login %q (OMNITRAY_HUB_URL=%q) = %v, want a usage error containing %q", tc.args, tc.env, err, tc.wantErr)
		}
	}
}
