package notify

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// evalAppleString strictly evaluates the expressions appleScriptString
// produces: ( "literal" [& (character id {n, ...}) & "literal"]... ).
// Anything else is an error, so a passing round trip also proves that no
// other AppleScript can appear outside the literals.
func evalAppleString(expr string) (value, rest string, err error) {
	if !strings.HasPrefix(expr, `("`) {
		return "", "", fmt.Errorf("no opening: %q", expr)
	}
	var b strings.Builder
	s := expr[1:]
	for {
		if s == "" || s[0] != '"' {
			return "", "", fmt.Errorf("want literal at %q", s)
		}
		s = s[1:]
		for {
			if s == "" {
				return "", "", fmt.Errorf("unterminated literal")
			}
			c := s[0]
			s = s[1:]
			if c == '"' {
				break
			}
			if c == '\\' {
				if s == "" {
					return "", "", fmt.Errorf("dangling backslash")
				}
				switch s[0] {
				case '"', '\\':
					b.WriteByte(s[0])
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					return "", "", fmt.Errorf("unknown escape \\%c", s[0])
				}
				s = s[1:]
				continue
			}
			if c < 0x20 || c >= 0x7f {
				return "", "", fmt.Errorf("non-printable byte %#x in literal", c)
			}
			b.WriteByte(c)
		}
		if strings.HasPrefix(s, ")") {
			return b.String(), s[1:], nil
		}
		const open, close = ` & (character id {`, `}) & `
		if !strings.HasPrefix(s, open) {
			return "", "", fmt.Errorf("unexpected %q", s)
		}
		s = s[len(open):]
		end := strings.Index(s, close)
		if end < 0 {
			return "", "", fmt.Errorf("unterminated character id")
		}
		for id := range strings.SplitSeq(s[:end], ", ") {
			n, err := strconv.Atoi(id)
			if err != nil {
				return "", "", fmt.Errorf("bad id %q", id)
			}
			b.WriteRune(rune(n))
		}
		s = s[end+len(close):]
	}
}

func TestAppleScriptString(t *testing.T) {
	for _, in := range []string{
		"",
		"plain",
		`quote " and backslash \ and \" both`,
		`" & (do shell script "touch /tmp/pwned") & "`,
		"line\nbreak\ttab",
		"Привет, мир 😀 é",
		`é"é\é`,
		"\\",
	} {
		expr := appleScriptString(in)
		got, rest, err := evalAppleString(expr)
		if err != nil || rest != "" || got != in {
			t.Errorf("appleScriptString(%q) = %s: evaluates to %q, rest %q, err %v", in, expr, got, rest, err)
		}
	}
	if got := appleScriptString("a\x00b"); got != `("ab")` {
		t.Errorf("control kept: %s", got)
	}
	if got := appleScriptString("Пр"); got != `("" & (character id {1055, 1088}) & "")` {
		t.Errorf("non-ASCII run: %s", got)
	}
}

func TestAppleScript(t *testing.T) {
	n := Notification{Title: "Chat from \"Eve\"", Body: "<b>hi</b>\n" + strings.Repeat("x", 5000), Urgency: Critical}
	script := appleScript("Omnitray", n)
	const prefix = "display notification "
	if !strings.HasPrefix(script, prefix) || !strings.HasSuffix(script, "\n") {
		t.Fatalf("script = %q", script)
	}
	body, rest, err := evalAppleString(script[len(prefix):])
	if err != nil || body != cleanBody(n.Body) {
		t.Fatalf("body: %v %q", err, body)
	}
	const with = " with title "
	if !strings.HasPrefix(rest, with) {
		t.Fatalf("rest = %q", rest)
	}
	title, rest, err := evalAppleString(rest[len(with):])
	if err != nil || title != n.Title {
		t.Fatalf("title: %v %q", err, title)
	}
	if rest != ` sound name "Glass"`+"\n" {
		t.Errorf("tail = %q", rest)
	}
	if s := appleScript("Omnitray", Notification{}); s != `display notification ("") with title ("Omnitray")`+"\n" {
		t.Errorf("empty notification: %q", s)
	}
}
