package assets

import (
	"bytes"
	"image/png"
	"testing"
)

func TestEveryIconIsThereInBothFormats(t *testing.T) {
	for _, k := range []string{IconOnline, IconGoingOffline, IconOffline, IconUnknown, IconError, IconSignedOut, IconApp} {
		p := IconFile(k + ".png")
		img, err := png.Decode(bytes.NewReader(p))
		if err != nil || img.Bounds().Dx() != 64 {
			t.Fatalf("%s.png: %v", k, err)
		}
		ico := IconFile(k + ".ico")
		if len(ico) != len(p)+22 || !bytes.Equal(ico[:4], []byte{0, 0, 1, 0}) || !bytes.Equal(ico[22:], p) {
			t.Fatalf("%s.ico is not the PNG in an ICO header", k)
		}
	}
	if Icon("nope") != nil {
		t.Fatal("unknown icon returned data")
	}
}
