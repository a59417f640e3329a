package synth

import (
	"fmt"
	"image"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Anatomy returns a synthetic grayscale scan of w x h pixels: a body
// ellipse with darker and brighter organs and deterministic speckle, every
// value in [8, 210] (never 0, so that a blanked pixel always differs from
// the input). seed varies the speckle and the organs' position, as
// successive frames of a cine loop do.
func Anatomy(w, h int, seed uint64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	cx, cy := float64(w)/2, float64(h)/2
	rx, ry := float64(w)*0.42, float64(h)*0.40
	shift := float64(seed%7) - 3
	type organ struct {
		x, y, r float64
		v       int
	}
	organs := []organ{
		{cx - rx*0.4 + shift, cy, rx * 0.28, 60},
		{cx + rx*0.45, cy - ry*0.2 + shift, rx * 0.22, 170},
		{cx, cy + ry*0.5, rx * 0.15, 120},
	}
	state := seed*0x9E3779B97F4A7C15 + 1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			state ^= state << 13
			state ^= state >> 7
			state ^= state << 17
			noise := int(state%23) - 11
			dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
			v := 12
			if dx*dx+dy*dy <= 1 {
				v = 95 + int(20*dx)
				for _, o := range organs {
					ox, oy := float64(x)-o.x, float64(y)-o.y
					if ox*ox+oy*oy <= o.r*o.r {
						v = o.v
					}
				}
			}
			img.Pix[y*img.Stride+x] = byte(min(210, max(8, v+noise)))
		}
	}
	return img
}

// TextSpec describes text drawn by [DrawText].
type TextSpec struct {
	Text  string
	X, Y  int     // top-left corner of the text's (rotated) box
	Size  float64 // font size in pixels
	Gray  uint8   // text value
	Angle int     // 0, 90 (reads bottom to top), 180 or 270 (reads top to bottom)
	Mono  bool    // Go Mono instead of Go Regular
}

// DrawTexts draws each of ts onto img (DrawText) and returns their
// coverages and ink boxes, in the order of ts.
func DrawTexts(img *image.Gray, ts ...TextSpec) ([]*image.Alpha, []image.Rectangle, error) {
	covs, boxes := make([]*image.Alpha, len(ts)), make([]image.Rectangle, len(ts))
	for i, t := range ts {
		var err error
		if covs[i], boxes[i], err = DrawText(img, t); err != nil {
			return nil, nil, err
		}
	}
	return covs, boxes, nil
}

// DrawText draws t onto img with a Go font (golang.org/x/image/font/gofont,
// BSD licence), antialiased, and returns its coverage (255 where a pixel is
// fully ink) in img's coordinates and the box of its ink.
func DrawText(img *image.Gray, t TextSpec) (*image.Alpha, image.Rectangle, error) {
	ttf := goregular.TTF
	if t.Mono {
		ttf = gomono.TTF
	}
	f, err := opentype.Parse(ttf)
	if err != nil {
		return nil, image.Rectangle{}, fmt.Errorf("synth: font: %w", err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: t.Size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, image.Rectangle{}, fmt.Errorf("synth: face: %w", err)
	}
	defer face.Close()
	m := face.Metrics()
	w := font.MeasureString(face, t.Text).Ceil() + 2
	h := (m.Ascent + m.Descent).Ceil() + 2
	patch := image.NewAlpha(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: patch, Src: image.Opaque, Face: face, Dot: fixed.Point26_6{X: fixed.I(1), Y: m.Ascent + fixed.I(1)}}
	d.DrawString(t.Text)
	rot := rotateAlpha(patch, t.Angle)
	cov := image.NewAlpha(img.Bounds())
	draw.Draw(cov, rot.Bounds().Add(image.Pt(t.X, t.Y)), rot, image.Point{}, draw.Src)
	ink := image.Rectangle{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			a := int(cov.AlphaAt(x, y).A)
			if a == 0 {
				continue
			}
			i := img.PixOffset(x, y)
			img.Pix[i] = byte((int(img.Pix[i])*(255-a) + int(t.Gray)*a) / 255)
			ink = ink.Union(image.Rect(x, y, x+1, y+1))
		}
	}
	return cov, ink, nil
}

// rotateAlpha turns a counter-clockwise by angle degrees (a multiple of 90).
func rotateAlpha(a *image.Alpha, angle int) *image.Alpha {
	w, h := a.Bounds().Dx(), a.Bounds().Dy()
	switch ((angle % 360) + 360) % 360 {
	case 90:
		r := image.NewAlpha(image.Rect(0, 0, h, w))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r.SetAlpha(y, w-1-x, a.AlphaAt(x, y))
			}
		}
		return r
	case 180:
		r := image.NewAlpha(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r.SetAlpha(w-1-x, h-1-y, a.AlphaAt(x, y))
			}
		}
		return r
	case 270:
		r := image.NewAlpha(image.Rect(0, 0, h, w))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r.SetAlpha(h-1-y, x, a.AlphaAt(x, y))
			}
		}
		return r
	}
	return a
}
