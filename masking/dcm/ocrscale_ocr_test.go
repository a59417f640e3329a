//go:build ocr

package dcm_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"slices"
	"syscall"
	"testing"
	"time"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/synth"
)

// largePhoto is a 4096x3072 DICOM photograph's luma: anatomy-like
// background, a white label with a name and a patient number in dark
// letters, and the boxes and coverage of the text.
func largePhoto(t testing.TB) (plain, text *image.Gray, covs []*image.Alpha, boxes []image.Rectangle) {
	t.Helper()
	const rows, cols = 3072, 4096
	g := synth.Anatomy(cols, rows, 5)
	draw.Draw(g, image.Rect(180, 180, 1500, 460), image.NewUniform(color.Gray{Y: 225}), image.Point{}, draw.Src)
	plain = image.NewGray(g.Rect)
	copy(plain.Pix, g.Pix)
	covs, boxes, err := synth.DrawTexts(g,
		synth.TextSpec{Text: "DUBOIS AMELIE", X: 220, Y: 220, Size: 96, Gray: 20},
		synth.TextSpec{Text: "IPP 4471239", X: 220, Y: 350, Size: 72, Gray: 30})
	if err != nil {
		t.Fatal(err)
	}
	return plain, g, covs, boxes
}

// TestIssue20_LargeDICOMPhotoTextReduced: a 4096x3072 native RGB DICOM
// photograph (two frames, the label only in the last) is read by OCR on a
// copy reduced to the photo path's bound (masking.TextMaxSide), and the
// boxes scaled back cover the name: on every frame at least 95% of the
// text's pixels are filled, the filled area is at most twice the text's
// boxes, and every other pixel is unchanged (SEC-PSE-4).
func TestIssue20_LargeDICOMPhotoTextReduced(t *testing.T) {
	f := tesseract(t)
	plain, text, covs, boxes := largePhoto(t)
	rows, cols := text.Rect.Dy(), text.Rect.Dx()
	in, want := photoFile(t, "XC", vlPhotoClass, tinted(text), tinted(plain), rows, cols, true, false)
	o := opts()
	o.Faces, o.OCR = true, f
	var buf bytes.Buffer
	res, err := dcm.New(dcm.Config{Faces: faceFinder}).Deidentify(context.Background(), &buf, bytes.NewReader(in), int64(len(in)), person(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Actions, "pixels:ocr") {
		t.Fatalf("actions %v: want words masked", res.Actions)
	}
	raw, _, _ := pixelsOf(t, buf.Bytes())
	area := 0
	for _, b := range boxes {
		area += b.Dx() * b.Dy()
	}
	frame := rows * cols * 3
	for fr := 0; fr < 2; fr++ {
		px := raw[fr*frame : (fr+1)*frame]
		zero := func(i int) bool { return px[3*i]|px[3*i+1]|px[3*i+2] == 0 }
		for k, cov := range covs {
			ink, hit := 0, 0
			b := boxes[k]
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					if cov.AlphaAt(x, y).A >= 128 {
						ink++
						if zero(y*cols + x) {
							hit++
						}
					}
				}
			}
			if hit*100 < 95*ink {
				t.Errorf("frame %d, text %d: %d of %d text pixels masked", fr, k, hit, ink)
			}
		}
		filled := 0
		for i := 0; i < rows*cols; i++ {
			if bytes.Equal(px[3*i:3*i+3], want[fr*frame+3*i:fr*frame+3*i+3]) {
				continue
			}
			if !zero(i) {
				t.Fatalf("frame %d: pixel %d changed but not filled", fr, i)
			}
			filled++
		}
		t.Logf("frame %d: %d pixels filled, text boxes %d", fr, filled, area)
		if filled > 2*area {
			t.Errorf("frame %d: %d pixels filled, more than twice the text's boxes (%d)", fr, filled, area)
		}
	}
}

// BenchmarkIssue20_LargeFrameOCR: Tesseract on the 4096x3072 frame of
// TestIssue20_LargeDICOMPhotoTextReduced, read whole (before) and on the
// copy reduced to masking.TextMaxSide (after, readText). Run with -count
// to alternate the two in one run; cpu-s/op is the process's user+sys
// time (Tesseract's threads included).
func BenchmarkIssue20_LargeFrameOCR(b *testing.B) {
	f := tesseract(b)
	_, text, _, _ := largePhoto(b)
	cols, rows := text.Rect.Dx(), text.Rect.Dy()
	ctx := context.Background()
	for _, c := range []struct {
		name string
		read func() ([]masking.Box, error)
	}{
		{"full", func() ([]masking.Box, error) { return f.FindText(ctx, text.Pix, cols, rows) }},
		{"reduced", func() ([]masking.Box, error) { return dcm.ReadText(ctx, f, text.Pix, cols, rows) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			cpu0 := cpuSeconds(b)
			for b.Loop() {
				found, err := c.read()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(found)), "words")
			}
			b.ReportMetric((cpuSeconds(b)-cpu0)/float64(b.N), "cpu-s/op")
		})
	}
}

// cpuSeconds is the user+sys time the process has used so far.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
