package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/cmd/internal/cli"
	"github.com/omnitray/omnitray/sync/hub"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// The token commands find the state directory as serve does; list shows
// each token's state, and revoke takes an id before or after the flags.
func TestTokenListAndRevoke(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OMNITRAY_HUB_STATE_DIR", dir)
	now := time.Now()
	_, anna, err := hub.IssueToken(dir, testSecret, 201, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, boris, err := hub.IssueToken(dir, testSecret, 202, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, short, err := hub.IssueToken(dir, testSecret, 203, now.Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tokenRevoke([]string{anna.ID, "--state-dir", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if err := tokenRevoke([]string{"--staff", "202"}, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := tokenList([]string{"--json"}, &out); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Tokens []listedToken `json:"tokens"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, r := range got.Tokens {
		states[r.ID] = r.State
	}
	want := map[string]string{anna.ID: "revoked", boris.ID: "revoked", short.ID: "expired"}
	for id, st := range want {
		if states[id] != st {
			t.Errorf("token %s: state %q, want %q (list %+v)", id, states[id], st, got.Tokens)
		}
	}
	out.Reset()
	if err := tokenList(nil, &out); err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"ID", "STAFF", "ISSUED", "EXPIRES", "LAST SEEN", "STATE", "staff 202"} {
		if !strings.Contains(out.String(), col) {
			t.Errorf("token list lacks %q:\n%s", col, out.String())
		}
	}
}

func TestTokenCommandsRefuseBadInput(t *testing.T) {
	t.Setenv("OMNITRAY_HUB_STATE_DIR", t.TempDir())
	t.Setenv("OMNITRAY_HUB_SECRET", string(testSecret))
	for _, args := range [][]string{
		{"--staff", "201", "--ttl", "10000h"},
		{"--staff", "201", "--ttl", "18446744103s"},
		{"--staff", "201", "--ttl", "30s"},
		{"revoke"},
		{"revoke", "some-id", "--staff", "201"},
		{"revoke", "a", "b"},
	} {
		err := token(t.Context(), args)
		var ue *cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("token %q: %v, want a usage error", args, err)
		}
	}
}

// An id that starts with "-" (1 in 64 of those issued before ids were kept
// from it) is still taken as the id, not refused as an unknown flag.
func TestRevokeAnIDThatLooksLikeAFlag(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := tokenRevoke([]string{"-bop3VoHl0kU", "--state-dir", dir}, &out)
	if err != nil && strings.Contains(err.Error(), "flag provided but not defined") {
		t.Fatalf("the id was read as a flag: %v", err)
	}
	if err := tokenRevoke([]string{"--state-dir", dir, "-bop3VoHl0kU", "extra"}, &out); err == nil {
		t.Fatal("an extra argument was ignored")
	}
	for range 500 {
		_, c, err := hub.Issue(testSecret, 201, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(c.ID, "-") {
			t.Fatalf("issued id %q starts with -", c.ID)
		}
	}
}
