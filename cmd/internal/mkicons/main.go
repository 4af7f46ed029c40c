// Command mkicons draws Omnitray's tray icons into assets/icons: one PNG per
// state (Linux and macOS decode PNG) and the same picture wrapped as ICO
// (Windows loads only ICO). Drawing them in code keeps the set consistent
// and reviewable; run `go generate ./assets` after changing a shape.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

const size = 64 // drawn large; trays scale down

type rgba = color.NRGBA

var (
	green = rgba{R: 0x1e, G: 0xa4, B: 0x4f, A: 0xff}
	amber = rgba{R: 0xf0, G: 0x9a, B: 0x18, A: 0xff}
	grey  = rgba{R: 0x8a, G: 0x8f, B: 0x98, A: 0xff}
	red   = rgba{R: 0xd6, G: 0x36, B: 0x2f, A: 0xff}
	white = rgba{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
)

// shape says, for a point in [-1,1]², which colour it has (or none).
type shape func(x, y float64) (rgba, bool)

func disc(c rgba, r float64) shape {
	return func(x, y float64) (rgba, bool) { return c, x*x+y*y <= r*r }
}

func ring(c rgba, r, w float64) shape {
	return func(x, y float64) (rgba, bool) {
		d := math.Hypot(x, y)
		return c, d <= r && d >= r-w
	}
}

// bubble is a chat bubble: a rounded body with a tail, the product's mark.
func bubble(c rgba) shape {
	return func(x, y float64) (rgba, bool) {
		body := (x*x)/(0.62*0.62)+((y+0.08)*(y+0.08))/(0.45*0.45) <= 1
		tail := y > 0.2 && y < 0.62 && x > -0.42 && x < -0.12 && (x+0.42) > (y-0.2)*0.7
		return c, body || tail
	}
}

func bar(c rgba) shape {
	return func(x, y float64) (rgba, bool) { return c, math.Abs(x) < 0.5 && math.Abs(y) < 0.12 }
}

func slash(c rgba) shape {
	return func(x, y float64) (rgba, bool) { return c, math.Abs(x+y) < 0.17 && math.Hypot(x, y) < 0.9 }
}

// pie is the countdown wedge of "going offline".
func pie(c rgba, r, frac float64) shape {
	return func(x, y float64) (rgba, bool) {
		a := math.Atan2(x, -y)
		if a < 0 {
			a += 2 * math.Pi
		}
		return c, x*x+y*y <= r*r && a <= frac*2*math.Pi
	}
}

func dashedRing(c rgba, r, w float64) shape {
	inner := ring(c, r, w)
	return func(x, y float64) (rgba, bool) {
		col, ok := inner(x, y)
		seg := int(math.Floor((math.Atan2(y, x) + math.Pi) / (2 * math.Pi) * 12))
		return col, ok && seg%2 == 0
	}
}

// draw paints the layers in order with 4×4 supersampling for smooth edges.
func draw(layers ...shape) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	for py := range size {
		for px := range size {
			var r, g, b, a float64
			for sy := range ss {
				for sx := range ss {
					x := (float64(px)+(float64(sx)+0.5)/ss)/size*2 - 1
					y := (float64(py)+(float64(sy)+0.5)/ss)/size*2 - 1
					for i := len(layers) - 1; i >= 0; i-- {
						if c, ok := layers[i](x, y); ok {
							r, g, b, a = r+float64(c.R), g+float64(c.G), b+float64(c.B), a+255
							break
						}
					}
				}
			}
			n := float64(ss * ss)
			if a > 0 {
				cov := a / 255
				img.SetNRGBA(px, py, rgba{R: uint8(r / cov), G: uint8(g / cov), B: uint8(b / cov), A: uint8(a / n)})
			}
		}
	}
	return img
}

var icons = map[string][]shape{
	"online":         {disc(green, 0.96), bubble(white)},
	"going-offline":  {disc(amber, 0.96), pie(white, 0.62, 0.7)},
	"offline":        {disc(grey, 0.96), bubble(white)},
	"unknown":        {dashedRing(grey, 0.96, 0.2), bubble(grey)},
	"error":          {disc(red, 0.96), bar(white)},
	"signed-out":     {ring(grey, 0.96, 0.18), bubble(grey), slash(grey)},
	"omnitray-large": {disc(green, 0.96), bubble(white)},
}

// ico wraps a PNG in an ICO container (PNG entries are valid since Vista).
func ico(pngData []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1})
	entry := struct {
		W, H, Colors, Reserved uint8
		Planes, BPP            uint16
		Size, Offset           uint32
	}{size, size, 0, 0, 1, 32, uint32(len(pngData)), 6 + 16}
	_ = binary.Write(&b, binary.LittleEndian, entry)
	b.Write(pngData)
	return b.Bytes()
}

func main() {
	out := "icons"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	for name, layers := range icons {
		var buf bytes.Buffer
		if err := png.Encode(&buf, draw(layers...)); err != nil {
			fmt.Fprintln(os.Stderr, "mkicons:", err)
			os.Exit(1)
		}
		for ext, data := range map[string][]byte{".png": buf.Bytes(), ".ico": ico(buf.Bytes())} {
			if err := os.WriteFile(filepath.Join(out, name+ext), data, 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "mkicons:", err)
				os.Exit(1)
			}
		}
	}
}
