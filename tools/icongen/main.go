// Command icongen draws Terrain's application icon (Icon.png, named in
// FyneApp.toml): a map pin over two mountains on a rounded blue square.
// The icon is drawn from code so it can be regenerated (`make icon`) and
// reviewed as text instead of living only as an opaque binary.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

const (
	size = 512
	// Each pixel averages sub×sub samples, which anti-aliases every edge
	// without a vector rasteriser.
	sub = 4
)

var (
	skyTop    = color.NRGBA{0x12, 0x3f, 0x5c, 0xff}
	skyBottom = color.NRGBA{0x1f, 0x6f, 0x8b, 0xff}
	farHill   = color.NRGBA{0x7f, 0xb8, 0xcc, 0xff}
	nearHill  = color.NRGBA{0xb9, 0xdd, 0xe6, 0xff}
	snow      = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	ground    = color.NRGBA{0x2f, 0x8a, 0x5b, 0xff}
	pin       = color.NRGBA{0xf2, 0x8c, 0x28, 0xff}
	pinHole   = color.NRGBA{0xff, 0xf8, 0xee, 0xff}
)

type point struct{ x, y float64 }

// inTriangle reports whether p lies inside triangle abc, whatever its winding.
func inTriangle(p, a, b, c point) bool {
	cross := func(o, u, v point) float64 { return (u.x-o.x)*(v.y-o.y) - (u.y-o.y)*(v.x-o.x) }
	d1, d2, d3 := cross(a, b, p), cross(b, c, p), cross(c, a, p)
	neg := d1 < 0 || d2 < 0 || d3 < 0
	pos := d1 > 0 || d2 > 0 || d3 > 0
	return !(neg && pos)
}

func inCircle(p, c point, r float64) bool {
	return math.Hypot(p.x-c.x, p.y-c.y) <= r
}

// inRoundedSquare is the icon's outline: a square inset by margin with
// corners of radius r.
func inRoundedSquare(p point, margin, r float64) bool {
	lo, hi := margin, size-margin
	if p.x < lo || p.x > hi || p.y < lo || p.y > hi {
		return false
	}
	cx := math.Min(math.Max(p.x, lo+r), hi-r)
	cy := math.Min(math.Max(p.y, lo+r), hi-r)
	return inCircle(p, point{cx, cy}, r)
}

func lerp(a, b color.NRGBA, t float64) color.NRGBA {
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + (float64(y)-float64(x))*t)) }
	return color.NRGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// colorAt returns the colour of the topmost shape at p, and false outside
// the icon.
func colorAt(p point) (color.NRGBA, bool) {
	if !inRoundedSquare(p, 32, 104) {
		return color.NRGBA{}, false
	}
	pinTop := point{256, 178}
	switch {
	case inCircle(p, pinTop, 30):
		return pinHole, true
	case inCircle(p, pinTop, 74) || inTriangle(p, point{192, 214}, point{320, 214}, point{256, 338}):
		return pin, true
	case p.y >= 392:
		return ground, true
	case inTriangle(p, point{298, 270}, point{334, 226}, point{370, 270}):
		return snow, true
	case inTriangle(p, point{196, 392}, point{334, 226}, point{472, 392}):
		return nearHill, true
	case inTriangle(p, point{126, 232}, point{166, 186}, point{206, 232}):
		return snow, true
	case inTriangle(p, point{40, 392}, point{166, 186}, point{330, 392}):
		return farHill, true
	}
	return lerp(skyTop, skyBottom, (p.y-32)/(size-64)), true
}

func render() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			var r, g, b, n float64
			for sy := range sub {
				for sx := range sub {
					p := point{float64(x) + (float64(sx)+0.5)/sub, float64(y) + (float64(sy)+0.5)/sub}
					c, ok := colorAt(p)
					if !ok {
						continue
					}
					r += float64(c.R)
					g += float64(c.G)
					b += float64(c.B)
					n++
				}
			}
			if n == 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{
				R: uint8(math.Round(r / n)),
				G: uint8(math.Round(g / n)),
				B: uint8(math.Round(b / n)),
				A: uint8(math.Round(255 * n / (sub * sub))),
			})
		}
	}
	return img
}

func main() {
	out := flag.String("o", "Icon.png", "output PNG file")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "icongen:", err)
		os.Exit(1)
	}
}

func write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create icon: %w", err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, render()); err != nil {
		f.Close()
		return fmt.Errorf("encode icon: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write icon: %w", err)
	}
	return nil
}
