package notify

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what reaches a notification server. Visitor text can be of any
// size; a bubble is not the place to read it, and servers choke on huge
// bodies, so we cut early and say so with an ellipsis.
const (
	maxTitleRunes = 120
	maxBodyRunes  = 1000
	maxLabelRunes = 40
	ellipsis      = '…'
)

// cleanTitle makes s a single line of plain text of at most maxTitleRunes.
func cleanTitle(s string) string { return cleanText(s, maxTitleRunes, false) }

// cleanBody makes s plain text of at most maxBodyRunes, keeping line breaks.
func cleanBody(s string) string { return cleanText(s, maxBodyRunes, true) }

// cleanLabel makes s a short single-line button label.
func cleanLabel(s string) string { return cleanText(s, maxLabelRunes, false) }

// escapeMarkup escapes plain text for a server that advertises
// "body-markup": one raw '<' makes dunst drop all markup and lose text
// (dunst#546), and visitor text must never turn into links or formatting.
// html.EscapeString also writes quotes as numeric entities, which the
// servers render fine.
func escapeMarkup(s string) string { return html.EscapeString(s) }

// cleanText repairs, filters and bounds untrusted text:
//   - invalid UTF-8 becomes U+FFFD (one per bad run);
//   - control characters and bidi overrides/isolates are removed (they
//     could hide or reorder text, e.g. fake a sender); tabs become spaces;
//   - whitespace is trimmed at both ends; in single-line mode every run of
//     whitespace (line breaks included) becomes one space; in multiline mode
//     CR/LF variants become '\n', at most one blank line is kept in a row,
//     and trailing spaces before a break are dropped;
//   - the result has at most max runes; if it was cut, it ends in "…".
//
// It scans only as far as needed, so a multi-megabyte input costs no more
// than the bound.
func cleanText(s string, max int, multiline bool) string {
	if max < 1 {
		return ""
	}
	out := make([]rune, 0, min(max+1, len(s)+1))
	var (
		pendSpaces, pendBreaks int  // whitespace seen since the last visible rune
		prevBad                bool // inside a run of invalid bytes
		prevCR                 bool // the previous rune was '\r' (CRLF counts once)
	)
	for i := 0; i < len(s) && len(out) <= max; {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size == 1 {
			if prevBad {
				continue
			}
			prevBad, prevCR = true, false
			r = unicode.ReplacementChar
		} else {
			prevBad = false
		}
		wasCR := prevCR
		prevCR = r == '\r'
		switch {
		case isBreak(r):
			if r == '\n' && wasCR {
				continue
			}
			if multiline {
				pendBreaks++
				pendSpaces = 0 // trailing spaces of a line are noise
			} else {
				pendSpaces++
			}
			continue
		case r == '\t' || unicode.IsSpace(r):
			pendSpaces++
			continue
		case unicode.IsControl(r) || isBidiControl(r):
			continue
		}
		if len(out) > 0 { // leading whitespace is dropped
			for range min(pendBreaks, 2) {
				out = append(out, '\n')
			}
			if pendSpaces > 0 && !multiline {
				pendSpaces = 1
			}
			for range min(pendSpaces, max) {
				out = append(out, ' ')
			}
		}
		pendSpaces, pendBreaks = 0, 0
		out = append(out, r)
	}
	if len(out) <= max {
		return string(out)
	}
	out = out[:max-1]
	for len(out) > 0 && unicode.IsSpace(out[len(out)-1]) {
		out = out[:len(out)-1]
	}
	return string(append(out, ellipsis))
}

// isBreak reports line and paragraph separators, including the vertical
// tab, form feed and NEL controls, which we treat as line breaks rather than
// delete so that words do not run together.
func isBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// isBidiControl reports the explicit embedding, override and isolate
// controls (U+202A–U+202E, U+2066–U+2069), which let text display in an
// order different from the one it was written in.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// firstLine returns the first non-blank line of a helper process's stderr,
// cleaned and bounded, to make its error message say something useful.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if l := cleanText(line, 200, false); l != "" {
			return l
		}
	}
	return ""
}
