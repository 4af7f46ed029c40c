package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRunExitCodesAndOneLineErrors(t *testing.T) {
	var gotGrace time.Duration
	cmds := []*Command{
		{Name: "ok", Run: func(ctx context.Context, args []string) error {
			fs := NewFlagSet("prog", "ok", "prog ok")
			grace := fs.Duration("grace", time.Minute, "grace delay")
			fs.Env("grace", "CLI_TEST_GRACE")
			if err := fs.Parse(args); err != nil {
				return err
			}
			gotGrace = *grace
			return fs.NoArgs()
		}},
		{Name: "fail", Run: func(context.Context, []string) error { return errors.New("it broke\nbadly") }},
	}
	for _, tc := range []struct {
		name  string
		env   string
		args  []string
		code  int
		grace time.Duration
		err   string
	}{
		{"default", "", []string{"ok"}, 0, time.Minute, ""},
		{"env beats default", "5s", []string{"ok"}, 0, 5 * time.Second, ""},
		{"flag beats env", "5s", []string{"ok", "--grace", "2s"}, 0, 2 * time.Second, ""},
		{"bad flag value", "", []string{"ok", "--grace", "soon"}, 2, 0, "--grace soon: not a duration; want a Go duration such as 90s or 3m"},
		{"bad env value", "soon", []string{"ok"}, 2, 0, "CLI_TEST_GRACE=soon: not a duration; want a Go duration"},
		{"unknown flag", "", []string{"ok", "--nope"}, 2, 0, "not defined"},
		{"stray argument", "", []string{"ok", "extra"}, 2, 0, "unexpected argument"},
		{"runtime failure", "", []string{"fail"}, 1, 0, "it broke badly"},
		{"unknown command", "", []string{"what"}, 2, 0, "unknown command"},
		{"no command", "", nil, 2, 0, "missing command"},
		{"help", "", []string{"--help"}, 0, 0, ""},
		{"command help", "", []string{"ok", "--help"}, 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CLI_TEST_GRACE", tc.env)
			gotGrace = 0
			var out, errOut bytes.Buffer
			code := run(context.Background(), "prog", "test", cmds, tc.args, &out, &errOut)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errOut.String())
			}
			if tc.grace != 0 && gotGrace != tc.grace {
				t.Fatalf("grace %v, want %v", gotGrace, tc.grace)
			}
			if tc.err != "" {
				msg := errOut.String()
				if !strings.Contains(msg, tc.err) || strings.Count(msg, "\n") != 1 {
					t.Fatalf("stderr %q: want one line containing %q", msg, tc.err)
				}
			}
		})
	}
}

// Where names the place a setting came from without its value, which may
// hold a secret.
func TestWhere(t *testing.T) {
	t.Setenv("CLI_TEST_HUB", "https://secret.example")
	fs := NewFlagSet("prog", "x", "prog x")
	for _, n := range []string{"hub", "flagged", "filed", "unset"} {
		fs.String(n, "", "")
	}
	fs.Env("hub", "CLI_TEST_HUB")
	if err := fs.Parse([]string{"--flagged", "secret"}); err != nil {
		t.Fatal(err)
	}
	if err := fs.ApplyFile("config /p", map[string]string{"filed": "secret"}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"hub": "CLI_TEST_HUB", "flagged": "--flagged", "filed": `"filed" in config /p`, "unset": "--unset",
	} {
		if got := fs.Where(name); got != want {
			t.Errorf("Where(%q) = %q, want %q", name, got, want)
		}
	}
}
