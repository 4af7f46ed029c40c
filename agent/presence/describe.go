package presence

import "strings"

// sourcesLine says in one plain sentence which of lock, sleep and idle this
// desktop lets Omnitray see, and through what, for the start-up log line: a
// support request ("it never goes offline when I lock") is answered from
// it, so it must read without knowing the option names. lock lists the lock
// sources that answered; sleep and idle name theirs, "none" for none, and
// idle is "off" when idle detection is turned off.
func sourcesLine(lock []string, sleep, idle string) string {
	var on, off []string
	if len(lock) > 0 {
		on = append(on, "the screen locks (via "+strings.Join(lock, ", ")+")")
	} else {
		off = append(off, "screen lock")
	}
	if sleep != "" && sleep != "none" {
		on = append(on, "the computer sleeps (via "+sleep+")")
	} else {
		off = append(off, "sleep")
	}
	switch idle {
	case "off":
	case "", "none":
		off = append(off, "idle time")
	default:
		on = append(on, "nobody uses it for a while (via "+idle+")")
	}
	line := "Chaport goes offline at once when nothing is noticed at this computer"
	if len(on) > 0 {
		line = "Chaport goes offline at once when " + strings.Join(on, ", or when ")
	}
	if len(off) > 0 {
		line += "; not seen on this desktop: " + strings.Join(off, ", ")
	}
	if idle == "off" {
		line += "; idle detection is off"
	}
	return line
}
