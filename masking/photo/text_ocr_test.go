//go:build ocr

package photo_test

import (
	"image"
	"image/draw"
	"testing"

	"hdw/masking"
	"hdw/masking/dcm/ocr"
	"hdw/synth"
)

// TestSEC_PSE_4_PhotoTextMasked: a name and a patient number written on a
// label in a photo are read by Tesseract and masked word by word; pixels
// away from them are unchanged.
func TestSEC_PSE_4_PhotoTextMasked(t *testing.T) {
	f, err := ocr.New(ocr.Config{})
	if err != nil {
		t.Fatal(err)
	}
	g := synth.Anatomy(480, 320, 9)
	texts, boxes, err := synth.DrawTexts(g,
		synth.TextSpec{Text: "DUPONT MARIE", X: 20, Y: 20, Size: 18, Gray: 250},
		synth.TextSpec{Text: "IPP 4471239", X: 260, Y: 270, Size: 16, Gray: 240})
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(g.Bounds())
	draw.Draw(rgba, rgba.Bounds(), g, image.Point{}, draw.Src)
	got := deidPNG(t, rgba, masking.Options{Faces: true, OCR: f})
	for i, cov := range texts {
		var text, hit int
		for y := 0; y < 320; y++ {
			for x := 0; x < 480; x++ {
				if cov.AlphaAt(x, y).A < 128 {
					continue
				}
				text++
				if rgb(got.At(x, y)) != rgb(rgba.At(x, y)) {
					hit++
				}
			}
		}
		if hit*100 < 95*text {
			t.Errorf("text %d: %d of %d text pixels masked", i, hit, text)
		}
	}
	for y := 0; y < 320; y++ {
		for x := 0; x < 480; x++ {
			near := false
			for _, b := range boxes {
				near = near || image.Pt(x, y).In(b.Inset(-10))
			}
			if !near && rgb(got.At(x, y)) != rgb(rgba.At(x, y)) {
				t.Fatalf("pixel (%d,%d) changed away from the text", x, y)
			}
		}
	}
}
