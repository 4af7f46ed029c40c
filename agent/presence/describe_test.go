package presence

import "testing"

func TestSourcesLine(t *testing.T) {
	for _, tc := range []struct {
		lock        []string
		sleep, idle string
		want        string
	}{
		{[]string{"logind", "ScreenSaver"}, "logind (delay inhibitor)", "Mutter IdleMonitor",
			"Chaport goes offline at once when the screen locks (via logind, ScreenSaver), or when the computer sleeps (via logind (delay inhibitor)), or when nobody uses it for a while (via Mutter IdleMonitor)"},
		{nil, "none", "off",
			"Chaport goes offline at once when nothing is noticed at this computer; not seen on this desktop: screen lock, sleep; idle detection is off"},
		{[]string{"logind"}, "none", "none",
			"Chaport goes offline at once when the screen locks (via logind); not seen on this desktop: sleep, idle time"},
	} {
		if got := sourcesLine(tc.lock, tc.sleep, tc.idle); got != tc.want {
			t.Errorf("sourcesLine(%v, %q, %q)\n got %q\nwant %q", tc.lock, tc.sleep, tc.idle, got, tc.want)
		}
	}
}
