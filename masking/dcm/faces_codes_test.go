package dcm_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"slices"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking/dcm"
	"hdw/synth"
)

// Barcodes and QR codes in DICOM photographs (issue 20 item 5): a
// wristband or a specimen label photographed as a VL image encodes the
// patient number.

// drawCode draws the black modules of m, on white, into an interleaved
// RGB image of cols columns at p, and returns the box of its black
// modules (its ink).
func drawCode(rgb []byte, cols int, m *gozxing.BitMatrix, p image.Point) image.Rectangle {
	var ink image.Rectangle
	for y := 0; y < m.GetHeight(); y++ {
		for x := 0; x < m.GetWidth(); x++ {
			v := byte(255)
			if m.Get(x, y) {
				v, ink = 0, ink.Union(image.Rect(p.X+x, p.Y+y, p.X+x+1, p.Y+y+1))
			}
			i := 3 * ((p.Y+y)*cols + p.X + x)
			rgb[i], rgb[i+1], rgb[i+2] = v, v, v
		}
	}
	return ink
}

// wristband returns a QR code (100x100) and a Code 128 barcode (200x50)
// holding patient numbers.
func wristband(t testing.TB) (qr, bc *gozxing.BitMatrix) {
	t.Helper()
	qr, err := qrcode.NewQRCodeWriter().Encode("PPI0001234", gozxing.BarcodeFormat_QR_CODE, 100, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	bc, err = oned.NewCode128Writer().Encode("IPP4471239", gozxing.BarcodeFormat_CODE_128, 200, 50, nil)
	if err != nil {
		t.Fatal(err)
	}
	return qr, bc
}

// codePhoto is a 400x300 face-free photograph (a gradient) holding a QR
// code and a Code 128 barcode with patient numbers, and the boxes of
// their ink.
func codePhoto(t testing.TB) (rgb []byte, rows, cols int, inks []image.Rectangle) {
	t.Helper()
	rows, cols = 300, 400
	rgb = faceFree(rows, cols)
	qr, bc := wristband(t)
	inks = []image.Rectangle{drawCode(rgb, cols, qr, image.Pt(270, 20)), drawCode(rgb, cols, bc, image.Pt(30, 210))}
	return rgb, rows, cols, inks
}

// decodes reports whether a QR code or a Code 128 barcode decodes in the
// first frame of an 8-bit RGB output.
func decodes(raw []byte, rows, cols int) bool {
	img := image.NewRGBA(image.Rect(0, 0, cols, rows))
	for i := 0; i < rows*cols; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = raw[3*i], raw[3*i+1], raw[3*i+2], 255
	}
	bm, _ := gozxing.NewBinaryBitmapFromImage(img)
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	_, qrErr := qrcode.NewQRCodeReader().Decode(bm, hints)
	_, bcErr := oned.NewCode128Reader().Decode(bm, hints)
	return qrErr == nil || bcErr == nil
}

// TestSEC_PSE_4_DICOMPhotoCodesMasked: the QR code and the 1D barcode of
// a DICOM photograph (XC and VL Photographic Image; native RGB, JPEG
// baseline, and a code shown only in the last frame of two) are filled on
// every frame with their quiet zone: every pixel inside the boxes the
// detector reports is zero, every other pixel is unchanged (the decoded
// ones for JPEG), no code decodes from the output, the record counts
// them, and dcmdump reads the output. A photograph without codes is
// stored unchanged, with no code counted.
func TestSEC_PSE_4_DICOMPhotoCodesMasked(t *testing.T) {
	rgb, rows, cols, inks := codePhoto(t)
	plain := faceFree(rows, cols)
	for _, c := range []struct {
		name, modality, class string
		jpeg, late, none      bool
	}{
		{name: "xc-native", modality: "XC"},
		{name: "vl-native", modality: "XC", class: vlPhotoClass},
		{name: "vl-jpeg-baseline", modality: "XC", class: vlPhotoClass, jpeg: true},
		{name: "xc-last-frame", modality: "XC", late: true},
		{name: "no-code", modality: "XC", class: vlPhotoClass, none: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := rgb
			if c.none {
				src = plain
			}
			in, want := photoFile(t, c.modality, c.class, src, plain, rows, cols, c.late, c.jpeg)
			out, res, err := deidPhoto(t, dcm.Config{Faces: faceFinder}, in)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("actions %v", res.Actions)
			frame := rows * cols * 3
			last := want[len(want)-frame:]
			img := dcm.FaceImageRGB(last, rows, cols)
			codes := faceFinder.FindCodes(img)
			filled := append(faceFinder.FindFaces(img), codes...)
			if c.none {
				if len(codes) != 0 || slices.Contains(res.Actions, "pixels:codes") {
					t.Fatalf("codes found in a photograph without any: %v", res.Actions)
				}
			} else {
				if len(codes) != 2 {
					t.Fatalf("the detector finds %d codes in the input, want 2", len(codes))
				}
				for i, ink := range inks {
					if !slices.ContainsFunc(codes, ink.In) {
						t.Errorf("code %d: its ink %v is not inside a code box %v", i, ink, codes)
					}
				}
				if !slices.Contains(res.Actions, fmt.Sprintf("masked-codes:%d", len(codes))) || !slices.Contains(res.Actions, "pixels:codes") {
					t.Errorf("actions %v do not count %d codes", res.Actions, len(codes))
				}
			}
			raw, orows, ocols := pixelsOf(t, out)
			if orows != rows || ocols != cols || len(raw) < len(want) {
				t.Fatalf("output %dx%d, %d bytes", ocols, orows, len(raw))
			}
			for f := 0; f < len(want)/frame; f++ {
				inBox, changedOut := 0, 0
				for y := 0; y < rows; y++ {
					for x := 0; x < cols; x++ {
						i := f*frame + 3*(y*cols+x)
						px, src := raw[i:i+3], want[i:i+3]
						if slices.ContainsFunc(filled, image.Pt(x, y).In) {
							inBox++
							if px[0]|px[1]|px[2] != 0 {
								t.Fatalf("frame %d: pixel (%d,%d) inside a code box not filled", f, x, y)
							}
						} else if !bytes.Equal(px, src) {
							changedOut++
						}
					}
				}
				if changedOut != 0 || (inBox == 0) != c.none {
					t.Errorf("frame %d: %d pixels changed outside the boxes, %d inside", f, changedOut, inBox)
				}
				if decodes(raw[f*frame:(f+1)*frame], rows, cols) {
					t.Errorf("frame %d: a code still decodes", f)
				}
			}
			if v := firstValue(t, out, tag.RecognizableVisualFeatures); v == "NO" && !slices.Contains(res.Actions, "pixels:faces") {
				t.Error("recognizable visual features set to NO though no face was masked")
			}
			dcmdumpCheck(t, out, []planted{{"patient name", "Dubois"}, {"marker", "ZORGLUBMARK"}})
		})
	}
}

// TestIssue20_DICOMPhotoCodesNoFaceDeclared: codes found do not stand for
// a face: a file declaring Recognizable Visual Features YES in which the
// detector finds codes but no face is quarantined (fail closed).
func TestIssue20_DICOMPhotoCodesNoFaceDeclared(t *testing.T) {
	rgb, rows, cols, _ := codePhoto(t)
	_, _, err := deidPhoto(t, dcm.Config{Faces: faceFinder}, gen(t, photoSpec("XC", vlPhotoClass, rgb, rows, cols, "YES")))
	wantQuarantine(t, err, "no face found")
}

// facesOnly is the photo finder without its code search, to measure what
// the code search costs.
type facesOnly struct{ dcm.PhotoFinder }

func (facesOnly) FindCodes(image.Image) []image.Rectangle { return nil }

// BenchmarkIssue20_DICOMPhotoCodes measures a 2 MP DICOM photograph
// (1632x1224 native RGB, synth's camera-like picture, with or without a
// label holding a QR code and a barcode) through the face pass with and without the code search (an
// OCR finding nothing): the difference is the code search's cost per
// frame. CPU time: run each sub-benchmark alone with a fixed -benchtime
// under /usr/bin/time.
func BenchmarkIssue20_DICOMPhotoCodes(b *testing.B) {
	const rows, cols = 1224, 1632
	var camera bytes.Buffer
	if err := synth.JPEG(&camera, synth.PhotoSpec{W: cols, H: rows, Camera: true}); err != nil {
		b.Fatal(err)
	}
	img, err := jpeg.Decode(&camera)
	if err != nil {
		b.Fatal(err)
	}
	plain := rgbOf(img)
	withCodes := slices.Clone(plain)
	small, srows, scols, _ := codePhoto(b)
	for y := 0; y < srows; y++ {
		copy(withCodes[3*((400+y)*cols+600):], small[3*y*scols:3*(y+1)*scols])
	}
	for _, file := range []struct {
		name string
		rgb  []byte
	}{{"codes", withCodes}, {"plain", plain}} {
		in := gen(b, photoSpec("XC", vlPhotoClass, file.rgb, rows, cols, ""))
		for _, c := range []struct {
			name string
			f    dcm.PhotoFinder
		}{{"faces+codes", faceFinder}, {"faces", facesOnly{faceFinder}}} {
			b.Run(file.name+"/"+c.name, func(b *testing.B) {
				benchFileWith(b, dcm.New(dcm.Config{Faces: c.f}), in, func(o *optsT) { o.Faces, o.OCR = true, &fakeOCR{} })
			})
		}
	}
}
