package notify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanBody(t *testing.T) {
	long := strings.Repeat("abcdefghij", 10*1024) // 100 KB
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello", "hello"},
		{"markup stays literal text", `<b>x</b> & <a href="y">`, `<b>x</b> & <a href="y">`},
		{"trim", "  \n\t hi \n\n ", "hi"},
		{"crlf", "a\r\nb\rc", "a\nb\nc"},
		{"blank lines collapse", "a\n\n\n\n\nb", "a\n\nb"},
		{"trailing spaces before break", "a   \n  b", "a\n  b"},
		{"tab to space", "a\tb", "a b"},
		{"controls removed", "a\x00b\x07c\x1bd\x7fe\u0085f\u009bg", "abcde\nfg"},
		{"vt ff are breaks", "a\vb\fc", "a\nb\nc"},
		{"bidi override removed", "invoice\u202Efdp.exe\u2066x\u2069", "invoicefdp.exex"},
		{"invalid utf8 repaired once per run", "a\xff\xfe\xfdb\xc3", "a\uFFFDb\uFFFD"},
		{"emoji zwj kept", "👩\u200d💻 ok", "👩\u200d💻 ok"},
		{"unicode kept", "Привет, мир", "Привет, мир"},
		{"paragraph separator", "a\u2029b", "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanBody(tt.in); got != tt.want {
				t.Errorf("cleanBody(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}

	t.Run("100KB body is bounded", func(t *testing.T) {
		got := cleanBody(long)
		if n := utf8.RuneCountInString(got); n != maxBodyRunes {
			t.Fatalf("got %d runes, want %d", n, maxBodyRunes)
		}
		if !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "abcdefghij") {
			t.Errorf("want the start kept and an ellipsis, got …%q", got[len(got)-20:])
		}
	})
	t.Run("exactly the bound is not cut", func(t *testing.T) {
		in := strings.Repeat("é", maxBodyRunes)
		if got := cleanBody(in); got != in {
			t.Errorf("cut at the bound: %d runes", utf8.RuneCountInString(got))
		}
		if got := cleanBody(in + "x"); utf8.RuneCountInString(got) != maxBodyRunes || !strings.HasSuffix(got, "é…") {
			t.Errorf("one over: got %d runes, suffix %q", utf8.RuneCountInString(got), got[len(got)-6:])
		}
	})
	t.Run("whitespace before the cut is dropped", func(t *testing.T) {
		in := strings.Repeat("a", maxBodyRunes-2) + "    more words"
		got := cleanBody(in)
		if want := strings.Repeat("a", maxBodyRunes-2) + "…"; got != want {
			t.Errorf("got suffix %q", got[len(got)-8:])
		}
	})
	t.Run("huge whitespace run stays bounded", func(t *testing.T) {
		got := cleanBody("a" + strings.Repeat(" ", 1<<20) + "b")
		if utf8.RuneCountInString(got) > maxBodyRunes {
			t.Errorf("%d runes", utf8.RuneCountInString(got))
		}
	})
	t.Run("always valid utf8", func(t *testing.T) {
		for _, in := range []string{"\xff", strings.Repeat("\xe2\x82", 3000), "é" + "\x80\x80"} {
			if got := cleanBody(in); !utf8.ValidString(got) {
				t.Errorf("cleanBody(%q) = %q: invalid UTF-8", in, got)
			}
		}
	})
}

func TestEscapeMarkup(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<b>x</b> & <a href="y">`, `&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href=&#34;y&#34;&gt;`},
		{`it's "q" & <b>`, `it&#39;s &#34;q&#34; &amp; &lt;b&gt;`},
		{"a &amp; b", "a &amp;amp; b"}, // an entity typed by a visitor stays visible as typed
		{"plain\nlines", "plain\nlines"},
	}
	for _, tt := range tests {
		if got := escapeMarkup(cleanBody(tt.in)); got != tt.want {
			t.Errorf("escapeMarkup(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCleanTitle(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Offline soon", "Offline soon"},
		{"  two\nlines\r\n\tand  tabs ", "two lines and tabs"},
		{"<b>not markup</b>", "<b>not markup</b>"}, // summaries are never parsed, so never escaped
		{"a\x00b\u202Ec", "abc"},
		{"\n\n", ""},
	}
	for _, tt := range tests {
		if got := cleanTitle(tt.in); got != tt.want {
			t.Errorf("cleanTitle(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	got := cleanTitle(strings.Repeat("ж", 500))
	if utf8.RuneCountInString(got) != maxTitleRunes || !strings.HasSuffix(got, "…") {
		t.Errorf("long title: %d runes %q", utf8.RuneCountInString(got), got)
	}
	if got := cleanLabel(strings.Repeat("x", 100)); utf8.RuneCountInString(got) != maxLabelRunes {
		t.Errorf("long label: %d runes", utf8.RuneCountInString(got))
	}
}

func TestCleanTextTinyBound(t *testing.T) {
	if got := cleanText("abc", 1, false); got != "…" {
		t.Errorf("max 1: %q", got)
	}
	if got := cleanText("abc", 0, false); got != "" {
		t.Errorf("max 0: %q", got)
	}
}

func TestFirstLine(t *testing.T) {
	if got := firstLine("\n  \nException: boom\x1b[31m\nat line 2\n"); got != "Exception: boom[31m" {
		t.Errorf("firstLine = %q", got)
	}
	if got := firstLine(""); got != "" {
		t.Errorf("firstLine(empty) = %q", got)
	}
}
