package photo_test

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"hdw/masking"
)

// drawMatrix draws a gozxing bit matrix (black modules) at p.
func drawMatrix(img *image.RGBA, m *gozxing.BitMatrix, p image.Point) image.Rectangle {
	r := image.Rect(0, 0, m.GetWidth(), m.GetHeight()).Add(p)
	for y := 0; y < m.GetHeight(); y++ {
		for x := 0; x < m.GetWidth(); x++ {
			c := color.RGBA{255, 255, 255, 255}
			if m.Get(x, y) {
				c = color.RGBA{0, 0, 0, 255}
			}
			img.Set(p.X+x, p.Y+y, c)
		}
	}
	return r
}

// TestSEC_PSE_4_BarcodesMasked: a QR code and a Code 128 barcode holding
// patient numbers, one of them turned upright, are masked in a photo; no
// code decodes from the output, and pixels away from them are unchanged.
func TestSEC_PSE_4_BarcodesMasked(t *testing.T) {
	img := testImage(400, 300)
	qr, err := qrcode.NewQRCodeWriter().Encode("PPI0001234", gozxing.BarcodeFormat_QR_CODE, 90, 90, nil)
	if err != nil {
		t.Fatal(err)
	}
	qrBox := drawMatrix(img, qr, image.Pt(280, 30))
	bc, err := oned.NewCode128Writer().Encode("IPP4471239", gozxing.BarcodeFormat_CODE_128, 180, 50, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Upright: draw the barcode turned by 90 degrees.
	flat := image.NewRGBA(image.Rect(0, 0, bc.GetWidth(), bc.GetHeight()))
	drawMatrix(flat, bc, image.Point{})
	up := image.NewRGBA(image.Rect(0, 0, bc.GetHeight(), bc.GetWidth()))
	for y := 0; y < bc.GetHeight(); y++ {
		for x := 0; x < bc.GetWidth(); x++ {
			up.Set(y, bc.GetWidth()-1-x, flat.At(x, y))
		}
	}
	bcBox := up.Bounds().Add(image.Pt(60, 90))
	draw.Draw(img, bcBox, up, image.Point{}, draw.Src)
	got := deidPNG(t, img, masking.Options{Faces: true})
	for name, box := range map[string]image.Rectangle{"qr": inkBox(img, qrBox), "code128": inkBox(img, bcBox)} {
		dark := 0
		for y := box.Min.Y; y < box.Max.Y; y++ {
			for x := box.Min.X; x < box.Max.X; x++ {
				if r, g, b, _ := got.At(x, y).RGBA(); r|g|b < 0x1000 {
					dark++
				}
			}
		}
		if dark != box.Dx()*box.Dy() {
			t.Errorf("%s: %d of %d pixels masked", name, dark, box.Dx()*box.Dy())
		}
	}
	bm, _ := gozxing.NewBinaryBitmapFromImage(got)
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	if r, err := qrcode.NewQRCodeReader().Decode(bm, hints); err == nil {
		t.Errorf("a QR code still decodes: %d chars", len(r.GetText()))
	}
	if r, err := oned.NewCode128Reader().Decode(bm, hints); err == nil {
		t.Errorf("a barcode still decodes: %d chars", len(r.GetText()))
	}
	// Far from the codes nothing changed.
	for _, p := range []image.Point{{5, 5}, {200, 280}, {390, 290}, {150, 20}} {
		if rgb(got.At(p.X, p.Y)) != rgb(img.At(p.X, p.Y)) {
			t.Errorf("pixel %v changed", p)
		}
	}
}

// inkBox is the box of the black modules of a code drawn in r.
func inkBox(img image.Image, r image.Rectangle) image.Rectangle {
	var ink image.Rectangle
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c, _, _, _ := img.At(x, y).RGBA(); c == 0 {
				ink = ink.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return ink
}

// deidPNG de-identifies img written as PNG and returns the output decoded.
func deidPNG(t *testing.T, img image.Image, o masking.Options) image.Image {
	t.Helper()
	var in bytes.Buffer
	if err := png.Encode(&in, img); err != nil {
		t.Fatal(err)
	}
	out, res, err := deid(t, in.Bytes(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("actions %v", res.Actions)
	got, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return got
}
