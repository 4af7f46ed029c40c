package autostart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Desktop Entry files (freedesktop.org Desktop Entry Specification 1.5).
// Two layers of escaping apply to Exec, read in this order: the string
// escapes of every value (`\\` for a backslash, `\s \n \t \r`), then the
// Exec quoting (an argument with a reserved character is double-quoted,
// and inside the quotes `"`, "`", `$` and `\` take a backslash). Field codes
// come last: a literal `%` is `%%` wherever it is. So a `$` in an argument
// is written `"\\$"` and a backslash `"\\\\"`. These functions are pure and
// untagged so the tests run on every OS.

// reserved are the characters that make an Exec argument need quotes.
const reserved = " \t\n\"'\\><~|&;$*?#()`"

// quoteExec renders argv as an Exec value.
func quoteExec(argv []string) (string, error) {
	parts := make([]string, len(argv))
	for i, arg := range argv {
		if err := plainText(arg); err != nil {
			return "", fmt.Errorf("argument %d: %w", i, err)
		}
		a := strings.ReplaceAll(arg, "%", "%%")
		if arg == "" || strings.ContainsAny(arg, reserved) {
			var b strings.Builder
			b.WriteByte('"')
			for _, r := range a {
				if strings.ContainsRune("\"`$\\", r) {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
			b.WriteByte('"')
			a = b.String()
		}
		parts[i] = a
	}
	// The string layer is applied last because a reader undoes it first.
	return strings.ReplaceAll(strings.Join(parts, " "), `\`, `\\`), nil
}

// splitExec parses an Exec value back into argv. It also reads what
// go-autostart writes (strconv.Quote: `"\"`-style escapes, `%` not doubled)
// closely enough to compare commands. Field codes other than %% are kept.
func splitExec(value string) ([]string, error) {
	s := unescapeValue(value)
	var args []string
	var cur strings.Builder
	inArg := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case '"':
			inArg = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("Exec has a quote that is not closed")
			}
		default:
			inArg = true
			cur.WriteByte(c)
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "%%", "%")
	}
	if len(args) == 0 {
		return nil, errors.New("Exec is empty")
	}
	return args, nil
}

// escapeValue applies the string escapes to a value written here (Name,
// Comment). Control characters are refused rather than escaped: none
// belongs in these values.
func escapeValue(s string) (string, error) {
	if err := plainText(s); err != nil {
		return "", err
	}
	return strings.ReplaceAll(s, `\`, `\\`), nil
}

// unescapeValue undoes the string escapes; unknown escapes are kept as they
// are so that the Exec layer sees them.
func unescapeValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case 's':
			b.WriteByte(' ')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i+1])
		}
		i++
	}
	return b.String()
}

func plainText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return fmt.Errorf("control character at byte %d", i)
	}
	return nil
}

// desktopFile renders the whole autostart entry.
func desktopFile(displayName, comment string, argv []string) ([]byte, error) {
	name, err := escapeValue(displayName)
	if err != nil {
		return nil, fmt.Errorf("name: %w", err)
	}
	com, err := escapeValue(comment)
	if err != nil {
		return nil, fmt.Errorf("comment: %w", err)
	}
	exec, err := quoteExec(argv)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("[Desktop Entry]\nType=Application\n")
	fmt.Fprintf(&b, "Name=%s\n", name)
	if com != "" {
		fmt.Fprintf(&b, "Comment=%s\n", com)
	}
	fmt.Fprintf(&b, "Exec=%s\n", exec)
	b.WriteString("Terminal=false\nX-GNOME-Autostart-enabled=true\n")
	return b.Bytes(), nil
}

// desktopKeys returns the keys of the [Desktop Entry] group, values as
// written (string escapes not undone).
func desktopKeys(data []byte) map[string]string {
	keys := map[string]string{}
	group := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '[':
			group = strings.TrimSuffix(line[1:], "]")
		case group == "Desktop Entry":
			if k, v, ok := strings.Cut(line, "="); ok {
				keys[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return keys
}

// desktopEnabled is the desktop's own test: Hidden=true deletes the entry
// in effect, X-GNOME-Autostart-enabled=false switches it off (GNOME's
// Startup Applications, and others, write these instead of deleting).
func desktopEnabled(keys map[string]string) bool {
	return keys["Hidden"] != "true" && keys["X-GNOME-Autostart-enabled"] != "false"
}
