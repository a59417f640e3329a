package photo

import (
	"bytes"
	"image"
	"image/color"
	"testing"

	"hdw/masking"
)

// TestGrayPixelsPlane: the Y plane of a decoded JPEG, also of a sub-image,
// is the luma the pixel-by-pixel conversion gives, within rounding.
func TestGrayPixelsPlane(t *testing.T) {
	img := readTestImage(t, "pigo-sample-face.jpg")
	yc, ok := img.(*image.YCbCr)
	if !ok {
		t.Fatalf("sample decodes to %T", img)
	}
	for _, m := range []image.Image{yc, yc.SubImage(image.Rect(31, 17, 200, 150))} {
		b := m.Bounds()
		got := grayPixels(m)
		if len(got) != b.Dx()*b.Dy() {
			t.Fatalf("%d pixels for %v", len(got), b)
		}
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				want := color.GrayModel.Convert(m.At(x, y)).(color.Gray).Y
				if d := int(got[i]) - int(want); d < -3 || d > 3 {
					t.Fatalf("pixel %d,%d: %d, want %d", x, y, got[i], want)
				}
				i++
			}
		}
	}
}

// TestGrayIntoRGBA: an NRGBA image (a baked orientation) and an RGBA one,
// sub-images and translucent pixels included, give exactly the luma of
// color.GrayModel.
func TestGrayIntoRGBA(t *testing.T) {
	nrgba := image.NewNRGBA(image.Rect(3, 5, 70, 41))
	rgba := image.NewRGBA(image.Rect(3, 5, 70, 41))
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(i*37 + i/7)
		rgba.Pix[i] = uint8(i*53 + i/3)
	}
	for i := 3; i < len(rgba.Pix); i += 4 { // premultiplied: no channel above alpha
		rgba.Pix[i] = 255
	}
	for _, m := range []image.Image{nrgba, rgba, nrgba.SubImage(image.Rect(10, 9, 44, 30)), rgba.SubImage(image.Rect(10, 9, 44, 30))} {
		b := m.Bounds()
		got := grayPixels(m)
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if want := color.GrayModel.Convert(m.At(x, y)).(color.Gray).Y; got[i] != want {
					t.Fatalf("%T pixel %d,%d: %d, want %d", m, x, y, got[i], want)
				}
				i++
			}
		}
	}
}

// TestLumaReducedOnce: the passes' reductions of a photo's grey image are
// masking.ReduceGray's, computed once per factor (the face and text
// passes share theirs), and a photo within the bound is read as it is.
func TestLumaReducedOnce(t *testing.T) {
	w, h := 4100, 300
	pix := make([]uint8, w*h)
	for i := range pix {
		pix[i] = uint8(i * 7)
	}
	l := &luma{pix: pix, b: image.Rect(10, 20, 10+w, 20+h)}
	g, cols, rows, f := l.reduced(2048)
	want, wc, wr, wf := masking.ReduceGray(pix, w, h, 2048)
	if !bytes.Equal(g, want) || cols != wc || rows != wr || f != wf || f != 3 {
		t.Fatalf("reduced %dx%d f %d, ReduceGray %dx%d f %d", cols, rows, f, wc, wr, wf)
	}
	if again, _, _, _ := l.reduced(2048); &again[0] != &g[0] {
		t.Error("the same reduction computed twice")
	}
	if g4, _, _, f4 := l.reduced(4096); f4 != 2 || &g4[0] == &g[0] {
		t.Errorf("factor 2: f %d, shares factor 3's pixels %v", f4, &g4[0] == &g[0])
	}
	if g8, _, _, f8 := l.reduced(8192); f8 != 1 || &g8[0] != &pix[0] {
		t.Errorf("within the bound: f %d, a copy %v", f8, &g8[0] != &pix[0])
	}
	if len(l.done) != 2 {
		t.Errorf("%d reductions kept, want 2", len(l.done))
	}
}
