package autostart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// LaunchAgent property lists for macOS. go-autostart fills its plist with
// text/template, which does not escape, so an `&` or `<` in a path breaks
// the file; these are written with XML escaping instead. Pure and untagged
// so the tests run on every OS.

// plistFile renders a LaunchAgent that runs argv once at login.
// AbandonProcessGroup keeps launchd from killing what the agent starts;
// ProcessType Interactive asks for no throttling of a program the user
// works with.
func plistFile(label string, argv []string) ([]byte, error) {
	esc := func(s string) (string, error) {
		if err := plainText(s); err != nil {
			return "", err
		}
		var b strings.Builder
		if err := xml.EscapeText(&b, []byte(s)); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
`)
	l, err := esc(label)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	fmt.Fprintf(&b, "\t<string>%s</string>\n\t<key>ProgramArguments</key>\n\t<array>\n", l)
	for i, a := range argv {
		s, err := esc(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i, err)
		}
		fmt.Fprintf(&b, "\t\t<string>%s</string>\n", s)
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>AbandonProcessGroup</key>
	<true/>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`)
	return b.Bytes(), nil
}

// parsePlist reads ProgramArguments and the Disabled key of a LaunchAgent.
func parsePlist(data []byte) (argv []string, disabled bool, err error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	depth := 0      // plist = 1, top dict = 2, its keys and values = 3
	key := ""       // the top-level key whose value comes next
	inArgs := false // inside the ProgramArguments array
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false, fmt.Errorf("parsing the plist: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			text.Reset()
			if depth == 3 && t.Name.Local != "key" {
				inArgs = key == "ProgramArguments" && t.Name.Local == "array"
				disabled = disabled || key == "Disabled" && t.Name.Local == "true"
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			switch {
			case depth == 3 && t.Name.Local == "key":
				key = text.String()
			case depth == 3:
				key, inArgs = "", false
			case depth == 4 && inArgs && t.Name.Local == "string":
				argv = append(argv, text.String())
			}
			depth--
		}
	}
	return argv, disabled, nil
}
