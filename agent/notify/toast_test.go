package notify

import (
	"encoding/base64"
	"encoding/xml"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

func TestEscapeXML(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{`<b>x</b> & "q" 'a'`, "&lt;b&gt;x&lt;/b&gt; &amp; &quot;q&quot; &apos;a&apos;"},
		{"é€😀", "&#xE9;&#x20AC;&#x1F600;"},
		{"a\nb\tc", "a&#xA;b&#x9;c"},
		{"bell\x07del\x7fc1\u0085nc\uffff", "bell&#xFFFD;del&#xFFFD;c1&#xFFFD;nc&#xFFFD;"},
	}
	for _, tt := range tests {
		if got := escapeXML(tt.in); got != tt.want {
			t.Errorf("escapeXML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// toastDoc is what we expect the toast XML to contain.
type toastDoc struct {
	XMLName  xml.Name `xml:"toast"`
	Duration string   `xml:"duration,attr"`
	Binding  struct {
		Template string `xml:"template,attr"`
		Image    *struct {
			Src string `xml:"src,attr"`
		} `xml:"image"`
		Texts []struct {
			Placement string `xml:"placement,attr"`
			Text      string `xml:",chardata"`
		} `xml:"text"`
	} `xml:"visual>binding"`
	Audio *struct {
		Silent string `xml:"silent,attr"`
	} `xml:"audio"`
}

func TestToastXML(t *testing.T) {
	n := Notification{
		Topic: "chat",
		Title: "Visitor </text><text>injected",
		Body:  "<b>x</b> & <a href=\"y\">\nПривет 😀\x00",
	}
	raw := toastXML("Omnitray", `C:\Program Files\Omnitray\icon.png`, n)
	for i := range len(raw) {
		if raw[i] >= 0x80 {
			t.Fatalf("toast XML is not ASCII at %d: %q", i, raw)
		}
	}
	var doc toastDoc
	if err := xml.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatalf("toast XML does not parse: %v\n%s", err, raw)
	}
	texts := doc.Binding.Texts
	if len(texts) != 3 {
		t.Fatalf("want title, body, attribution; got %d texts: %s", len(texts), raw)
	}
	if texts[0].Text != cleanTitle(n.Title) || texts[1].Text != cleanBody(n.Body) {
		t.Errorf("texts = %q, %q", texts[0].Text, texts[1].Text)
	}
	if texts[2].Placement != "attribution" || texts[2].Text != "Omnitray" {
		t.Errorf("attribution = %+v", texts[2])
	}
	if doc.Binding.Template != "ToastGeneric" || doc.Duration != "" || doc.Audio != nil {
		t.Errorf("unexpected attributes: %+v", doc)
	}
	if doc.Binding.Image == nil || doc.Binding.Image.Src != "file:///C:/Program Files/Omnitray/icon.png" {
		t.Errorf("image = %+v", doc.Binding.Image)
	}

	var low toastDoc
	if err := xml.Unmarshal([]byte(toastXML("Omnitray", "", Notification{Urgency: Low})), &low); err != nil {
		t.Fatal(err)
	}
	if low.Audio == nil || low.Audio.Silent != "true" || low.Binding.Texts[0].Text != "Omnitray" || low.Binding.Image != nil {
		t.Errorf("low urgency, no title: %+v", low)
	}
	var long toastDoc
	if err := xml.Unmarshal([]byte(toastXML("Omnitray", "", Notification{Title: "t", Timeout: -1})), &long); err != nil {
		t.Fatal(err)
	}
	if long.Duration != "long" || len(long.Binding.Texts) != 2 {
		t.Errorf("never-expiring toast: %+v", long)
	}
}

func TestToastTag(t *testing.T) {
	if got := toastTag("offline-soon"); got != "offline-soon" {
		t.Errorf("short topic changed: %q", got)
	}
	if got := toastTag(""); got != "" {
		t.Errorf("empty topic: %q", got)
	}
	for _, topic := range []string{"a-topic-longer-than-16", "bad\ntopic", "тема"} {
		got := toastTag(topic)
		if len(got) != 16 || strings.Trim(got, "0123456789abcdef") != "" {
			t.Errorf("toastTag(%q) = %q, want 16 hex digits", topic, got)
		}
	}
	if toastTag("a-topic-longer-than-16") == toastTag("a-topic-longer-than-17") {
		t.Error("distinct topics share a tag")
	}
}

func TestToastRequest(t *testing.T) {
	if got := toastRequest("show", "t", 1500*time.Millisecond, "<toast/>"); got != "show\nt\n1500\n<toast/>" {
		t.Errorf("show: %q", got)
	}
	if got := toastRequest("dismiss", "t", -1, ""); got != "dismiss\nt\n0\n" {
		t.Errorf("dismiss: %q", got)
	}
}

func TestEncodePowerShell(t *testing.T) {
	b, err := base64.StdEncoding.DecodeString(encodePowerShell(toastScript))
	if err != nil || len(b)%2 != 0 {
		t.Fatalf("decode: %v (len %d)", err, len(b))
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	if got := string(utf16.Decode(u)); got != toastScript {
		t.Errorf("round trip differs")
	}
	if !strings.Contains(toastScript, toastAppID) || !strings.Contains(toastScript, "'"+toastGroup+"'") {
		t.Error("script lacks the app id or group")
	}
}
