package notify

// Windows toast building. Pure functions, kept free of build tags so they
// are tested on every OS; notify_windows.go runs them.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// toastGroup groups all our toasts in the Action Center, so Dismiss can
// address (group, tag) without touching other apps' toasts.
const toastGroup = "omnitray"

// toastAppID is the AppUserModelID the toast is shown under. Windows only
// shows toasts for a registered AUMID; ours would need an installer-made
// Start-menu shortcut, so we borrow Windows PowerShell's, which is always
// registered, and name ourselves in the attribution line instead.
const toastAppID = `{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\WindowsPowerShell\v1.0\powershell.exe`

// toastScript is the constant PowerShell program. Everything variable
// (including visitor text) arrives on stdin, never on the command line:
//
//	line 1: "show" or "dismiss"
//	line 2: tag
//	line 3: expiry in ms (0 = none)
//	rest:   toast XML (show only)
//
// Stdin is pure ASCII (escapeXML writes character references), so the
// console's code page cannot garble it.
const toastScript = `$ErrorActionPreference = 'Stop'
$req = [Console]::In.ReadToEnd().Split([char]10, 4)
$op = $req[0].Trim(); $tag = $req[1].Trim(); $ms = [int64]$req[2].Trim()
$null = [Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime]
$null = [Windows.Data.Xml.Dom.XmlDocument, Windows.Data.Xml.Dom.XmlDocument, ContentType = WindowsRuntime]
$mgr = [Windows.UI.Notifications.ToastNotificationManager]
$app = '` + toastAppID + `'
if ($op -eq 'dismiss') { $mgr::History.Remove($tag, '` + toastGroup + `', $app); exit 0 }
$doc = New-Object Windows.Data.Xml.Dom.XmlDocument
$doc.LoadXml($req[3])
$toast = New-Object Windows.UI.Notifications.ToastNotification $doc
if ($tag) { $toast.Tag = $tag }
$toast.Group = '` + toastGroup + `'
if ($ms -gt 0) { $toast.ExpirationTime = [DateTimeOffset]::Now.AddMilliseconds($ms) }
$mgr::CreateToastNotifier($app).Show($toast)
`

// encodePowerShell encodes a script for -EncodedCommand (base64 of
// UTF-16LE), which sidesteps Windows command-line quoting entirely.
func encodePowerShell(script string) string {
	u := utf16.Encode([]rune(script))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// toastTag turns a topic into a toast Tag: Windows limits tags to 16
// characters on older builds (64 on newer), and the tag travels on a line
// of its own, so anything but short plain names is hashed.
func toastTag(topic string) string {
	if topic == "" {
		return ""
	}
	if len(topic) <= 16 && strings.Trim(topic, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == "" {
		return topic
	}
	sum := sha256.Sum256([]byte(topic))
	return hex.EncodeToString(sum[:8])
}

// toastRequest builds the stdin for toastScript.
func toastRequest(op, tag string, expire time.Duration, xml string) string {
	ms := int64(0)
	if expire > 0 {
		ms = max(expire.Milliseconds(), 1)
	}
	return op + "\n" + tag + "\n" + strconv.FormatInt(ms, 10) + "\n" + xml
}

// toastXML renders n as a ToastGeneric toast. Title and body are cleaned
// and bounded like everywhere else, then XML-escaped.
func toastXML(appName, iconPath string, n Notification) string {
	title := cleanTitle(n.Title)
	if title == "" {
		title = cleanTitle(appName) // the template needs a first line
	}
	var b strings.Builder
	b.WriteString(`<toast`)
	if n.Timeout < 0 || n.Urgency == Critical {
		b.WriteString(` duration="long"`) // ~25 s on screen instead of ~7 s
	}
	b.WriteString(`><visual><binding template="ToastGeneric">`)
	if iconPath != "" {
		src := "file:///" + strings.TrimLeft(strings.ReplaceAll(iconPath, `\`, "/"), "/")
		fmt.Fprintf(&b, `<image placement="appLogoOverride" src="%s"/>`, escapeXML(src))
	}
	fmt.Fprintf(&b, `<text>%s</text>`, escapeXML(title))
	if body := cleanBody(n.Body); body != "" {
		fmt.Fprintf(&b, `<text>%s</text>`, escapeXML(body))
	}
	fmt.Fprintf(&b, `<text placement="attribution">%s</text>`, escapeXML(cleanTitle(appName)))
	b.WriteString(`</binding></visual>`)
	if n.Urgency == Low {
		b.WriteString(`<audio silent="true"/>`)
	}
	b.WriteString(`</toast>`)
	return b.String()
}

// escapeXML escapes s for XML text and attribute values and makes it pure
// ASCII: markup characters and quotes become entities, everything outside
// printable ASCII a numeric reference, and characters XML 1.0 forbids
// (most controls, U+FFFE/U+FFFF) become U+FFFD.
func escapeXML(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r == '\t' || r == '\n' || r == '\r' || (r >= 0xA0 && r != 0xFFFE && r != 0xFFFF):
			fmt.Fprintf(&b, "&#x%X;", r)
		default: // C0 controls, DEL, C1 controls, non-characters
			b.WriteString("&#xFFFD;")
		}
	}
	return b.String()
}
