//go:build ocr

package dcm_test

import (
	"bytes"
	"context"
	"image"
	"slices"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking/dcm"
	"hdw/synth"
)

// TestSEC_PSE_4_DICOMPhotoTextMasked: in a DICOM photograph (VL
// Photographic Image, colour; native RGB, JPEG baseline, and the text
// shown only in the last frame of two) the person's name, a patient number
// and another word written on a label are read by Tesseract and masked
// word by word on every frame, as in photos: at least 95% of the text's
// pixels are filled, every other pixel is unchanged (the decoded ones for
// JPEG) or filled, the filled area is at most twice the text's boxes (a
// word OCR reads in the anatomy is masked too), and dcmdump reads the
// output. The face and code
// passes run too and find nothing.
func TestSEC_PSE_4_DICOMPhotoTextMasked(t *testing.T) {
	f := tesseract(t)
	const rows, cols = 320, 480
	g := synth.Anatomy(cols, rows, 11)
	plain := tinted(g)
	covs, boxes, err := synth.DrawTexts(g,
		synth.TextSpec{Text: "DUBOIS AMELIE", X: 20, Y: 20, Size: 20, Gray: 250},
		synth.TextSpec{Text: "IPP 4471239", X: 250, Y: 270, Size: 18, Gray: 245},
		synth.TextSpec{Text: "RIGHT", X: 30, Y: 250, Size: 16, Gray: 240})
	if err != nil {
		t.Fatal(err)
	}
	text := tinted(g)
	for _, c := range []struct {
		name       string
		jpeg, late bool
	}{{name: "vl-native"}, {name: "vl-jpeg-baseline", jpeg: true}, {name: "vl-last-frame", late: true}} {
		t.Run(c.name, func(t *testing.T) {
			in, want := photoFile(t, "XC", vlPhotoClass, text, plain, rows, cols, c.late, c.jpeg)
			o := opts()
			o.Faces, o.OCR = true, f
			var buf bytes.Buffer
			res, err := dcm.New(dcm.Config{Faces: faceFinder}).Deidentify(context.Background(), &buf, bytes.NewReader(in), int64(len(in)), person(), o)
			out := buf.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("actions %v", res.Actions)
			if !slices.Contains(res.Actions, "pixels:ocr") || slices.Contains(res.Actions, "pixels:codes") {
				t.Errorf("actions %v: want words masked, no code", res.Actions)
			}
			raw, _, _ := pixelsOf(t, out)
			frame := rows * cols * 3
			for fr := 0; fr < len(want)/frame; fr++ {
				changed := func(x, y int) bool {
					i := fr*frame + 3*(y*cols+x)
					return raw[i] != want[i] || raw[i+1] != want[i+1] || raw[i+2] != want[i+2]
				}
				for i, cov := range covs {
					var ink, hit int
					for y := boxes[i].Min.Y; y < boxes[i].Max.Y; y++ {
						for x := boxes[i].Min.X; x < boxes[i].Max.X; x++ {
							if cov.AlphaAt(x, y).A < 128 {
								continue
							}
							ink++
							// The text is bright: masked, it is zero.
							if j := fr*frame + 3*(y*cols+x); raw[j]|raw[j+1]|raw[j+2] == 0 {
								hit++
							}
						}
					}
					if hit*100 < 95*ink {
						t.Errorf("frame %d, text %d: %d of %d text pixels masked", fr, i, hit, ink)
					}
				}
				// Away from the text a pixel is unchanged, or filled where
				// OCR read a word in the anatomy (every word read is
				// masked); all filled, at most twice the text's boxes.
				filled, area := 0, 0
				for _, b := range boxes {
					area += b.Dx() * b.Dy()
				}
				for y := 0; y < rows; y++ {
					for x := 0; x < cols; x++ {
						if !changed(x, y) {
							continue
						}
						filled++
						if i := fr*frame + 3*(y*cols+x); raw[i]|raw[i+1]|raw[i+2] != 0 {
							t.Fatalf("frame %d: pixel (%d,%d) changed but not filled", fr, x, y)
						}
					}
				}
				t.Logf("frame %d: %d pixels filled, text boxes %d", fr, filled, area)
				if filled > 2*area {
					t.Errorf("frame %d: %d pixels filled, more than twice the text's boxes (%d)", fr, filled, area)
				}
			}
			if v := firstValue(t, out, tag.RecognizableVisualFeatures); v == "NO" {
				t.Error("recognizable visual features set to NO though no face was masked")
			}
			dcmdumpCheck(t, out, []planted{{"patient name", "Dubois"}, {"marker", "ZORGLUBMARK"}})
		})
	}
}

// tinted is g as an 8-bit RGB colour photograph (warm tint).
func tinted(g *image.Gray) []byte {
	out := make([]byte, 0, 3*len(g.Pix))
	for _, v := range g.Pix {
		out = append(out, v, byte(int(v)*15/16), byte(int(v)*13/16))
	}
	return out
}
