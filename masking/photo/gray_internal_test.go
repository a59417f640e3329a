package photo

import (
	"image"
	"image/color"
	"testing"
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
