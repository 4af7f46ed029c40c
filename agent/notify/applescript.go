package notify

// macOS script building. Pure functions, kept free of build tags so they
// are tested on every OS; notify_darwin.go runs them.

import (
	"strconv"
	"strings"
)

// appleScript renders n as a `display notification` statement. The script
// goes to osascript on stdin, so visitor text never reaches a command line.
func appleScript(appName string, n Notification) string {
	title := cleanTitle(n.Title)
	if title == "" {
		title = cleanTitle(appName)
	}
	s := "display notification " + appleScriptString(cleanBody(n.Body)) +
		" with title " + appleScriptString(title)
	if n.Urgency == Critical {
		s += ` sound name "Glass"`
	}
	return s + "\n"
}

// appleScriptString returns an AppleScript expression that evaluates to s,
// wrapped in parentheses so it can stand anywhere an operand can.
//
// Inside a literal only '"' and '\' can end or alter it; they are
// backslash-escaped, and line breaks and tabs use the \n and \t escapes.
// Everything outside printable ASCII is spelled as (character id {…}), so
// the script is pure ASCII and osascript's guess of the input encoding does
// not matter.
func appleScriptString(s string) string {
	var b strings.Builder
	b.WriteString(`("`)
	var ids []string // pending run of non-ASCII characters
	flush := func() {
		if len(ids) > 0 {
			b.WriteString(`" & (character id {` + strings.Join(ids, ", ") + `}) & "`)
			ids = ids[:0]
		}
	}
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			flush()
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			flush()
			b.WriteString(`\n`)
		case r == '\t':
			flush()
			b.WriteString(`\t`)
		case r >= 0x20 && r < 0x7f:
			flush()
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			// other controls: dropped (cleanText already removes them)
		default:
			ids = append(ids, strconv.Itoa(int(r)))
		}
	}
	flush()
	b.WriteString(`")`)
	return b.String()
}
