package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestRenderShape(t *testing.T) {
	img := render()
	if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
		t.Fatalf("icon is %dx%d, want %dx%d", b.Dx(), b.Dy(), size, size)
	}
	// Outside the rounded square the icon is transparent; inside, opaque.
	for _, p := range []image.Point{{0, 0}, {size - 1, 0}, {36, 36}, {size - 37, size - 37}} {
		if a := img.NRGBAAt(p.X, p.Y).A; a != 0 {
			t.Errorf("pixel %v has alpha %d, want 0", p, a)
		}
	}
	for _, p := range []image.Point{{size / 2, size / 2}, {60, 300}, {256, 450}} {
		if a := img.NRGBAAt(p.X, p.Y).A; a != 0xff {
			t.Errorf("pixel %v has alpha %d, want 255", p, a)
		}
	}
	if got := img.NRGBAAt(256, 178); got != pinHole {
		t.Errorf("pin centre is %v, want %v", got, pinHole)
	}
}

// The committed Icon.png must be what this program draws, so that the icon
// can always be regenerated from source.
func TestCommittedIconMatches(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Icon.png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 50<<10 {
		t.Errorf("Icon.png is %d bytes; keep it under 50 KiB", len(data))
	}
	committed, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode Icon.png: %v", err)
	}
	want := render()
	if committed.Bounds() != want.Bounds() {
		t.Fatalf("Icon.png bounds %v, want %v; run make icon", committed.Bounds(), want.Bounds())
	}
	for y := range size {
		for x := range size {
			if got := committed.At(x, y); !sameColor(got, want.NRGBAAt(x, y)) {
				t.Fatalf("Icon.png differs at (%d,%d): %v, want %v; run make icon", x, y, got, want.NRGBAAt(x, y))
			}
		}
	}
}

func sameColor(a, b color.Color) bool {
	ar, ag, ab, aa := a.RGBA()
	br, bg, bb, ba := b.RGBA()
	return ar == br && ag == bg && ab == bb && aa == ba
}
