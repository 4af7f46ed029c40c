package autostart

import (
	"slices"
	"strings"
	"testing"
)

func TestQuoteExec(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv []string
		want string
	}{
		{"plain", []string{"/usr/bin/omnitray", "run"}, `/usr/bin/omnitray run`},
		{"space", []string{"/opt/my app/omnitray", "run"}, `"/opt/my app/omnitray" run`},
		{"percent", []string{"/opt/x", "100%"}, `/opt/x 100%%`},
		{"percent quoted", []string{"/opt/x", "50% off"}, `/opt/x "50%% off"`},
		{"dollar", []string{"/opt/a$b"}, `"/opt/a\\$b"`},
		{"backtick", []string{"/opt/a`b"}, "\"/opt/a\\\\`b\""},
		{"double quote", []string{`/opt/a"b`}, `"/opt/a\\"b"`},
		{"backslash", []string{`/opt/a\b`}, `"/opt/a\\\\b"`},
		{"single quote", []string{"/opt/it's"}, `"/opt/it's"`},
		{"empty arg", []string{"/opt/x", ""}, `/opt/x ""`},
		{"unicode", []string{"/opt/ünïcödé/x"}, `/opt/ünïcödé/x`},
		{"all at once", []string{"/tmp/my dir/100%/o$m`n\"i\\tray", "run"},
			"\"/tmp/my dir/100%%/o\\\\$m\\\\`n\\\\\"i\\\\\\\\tray\" run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := quoteExec(tc.argv)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("quoteExec(%q)\n got %s\nwant %s", tc.argv, got, tc.want)
			}
			back, err := splitExec(got)
			if err != nil || !slices.Equal(back, tc.argv) {
				t.Fatalf("splitExec(%s) = %q, %v; want %q", got, back, err, tc.argv)
			}
		})
	}
}

func TestQuoteExecRefusesControlCharacters(t *testing.T) {
	for _, arg := range []string{"a\nb", "a\tb", "a\x00b", "a\xffb"} {
		if got, err := quoteExec([]string{"/opt/x", arg}); err == nil {
			t.Errorf("quoteExec(%q) = %s, want an error", arg, got)
		}
	}
}

func TestSplitExecReadsOtherWriters(t *testing.T) {
	for _, tc := range []struct {
		exec string
		want []string
	}{
		// go-autostart: strconv.Quote per argument.
		{`"/opt/headless agent/bin/agent" "--minimized" "100%"`, []string{"/opt/headless agent/bin/agent", "--minimized", "100%"}},
		{`"/usr/bin/omnitray" "run"`, []string{"/usr/bin/omnitray", "run"}},
		{`/usr/bin/omnitray  run `, []string{"/usr/bin/omnitray", "run"}},
		{`"/usr/bin/a\sb"`, []string{"/usr/bin/a b"}},
		{`/usr/bin/a\sb`, []string{"/usr/bin/a", "b"}}, // \s is a space, and unquoted it separates
	} {
		got, err := splitExec(tc.exec)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("splitExec(%s) = %q, %v; want %q", tc.exec, got, err, tc.want)
		}
	}
	for _, bad := range []string{`"/opt/x`, ``, `   `} {
		if got, err := splitExec(bad); err == nil {
			t.Errorf("splitExec(%q) = %q, want an error", bad, got)
		}
	}
}

func TestDesktopKeys(t *testing.T) {
	data := []byte("# comment\n[Desktop Entry]\nName=A\nExec = /x run\nHidden=true\n[Desktop Action new]\nExec=/y\n")
	keys := desktopKeys(data)
	if keys["Exec"] != "/x run" || keys["Name"] != "A" {
		t.Fatalf("desktopKeys = %q", keys)
	}
	for _, tc := range []struct {
		extra string
		want  bool
	}{
		{"", true},
		{"Hidden=true\n", false},
		{"Hidden=false\n", true},
		{"X-GNOME-Autostart-enabled=false\n", false},
		{"X-GNOME-Autostart-enabled=true\n", true},
	} {
		keys := desktopKeys([]byte("[Desktop Entry]\nExec=/x\n" + tc.extra))
		if got := desktopEnabled(keys); got != tc.want {
			t.Errorf("desktopEnabled with %q = %v, want %v", tc.extra, got, tc.want)
		}
	}
}

func TestPlist(t *testing.T) {
	argv := []string{"/Applications/R&D <tools>/Omnitray.app/Contents/MacOS/omnitray", "run"}
	data, err := plistFile("com.github.omnitray.omnitray", argv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "R&amp;D &lt;tools&gt;") {
		t.Fatalf("path not XML-escaped:\n%s", data)
	}
	got, disabled, err := parsePlist(data)
	if err != nil || disabled || !slices.Equal(got, argv) {
		t.Fatalf("parsePlist = %q, %v, %v; want %q", got, disabled, err, argv)
	}
	off := strings.Replace(string(data), "<key>RunAtLoad</key>", "<key>Disabled</key>\n\t<true/>\n\t<key>RunAtLoad</key>", 1)
	if _, disabled, err := parsePlist([]byte(off)); err != nil || !disabled {
		t.Fatalf("parsePlist with Disabled = %v, %v; want disabled", disabled, err)
	}
	if _, _, err := parsePlist([]byte("<plist><dict><string>a & b</string></dict></plist>")); err == nil {
		t.Fatal("parsePlist accepted an unescaped &")
	}
}
