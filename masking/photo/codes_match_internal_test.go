package photo

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"slices"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"hdw/synth"
)

// TestBarcodesMatchGozxing: the barcode pass (its own luminance source,
// rows with fewer than minOneDRuns runs skipped) finds the same boxes, in
// the same order, as the same readers on gozxing's own image source with
// every row tried: on the 1D formats image, 2D codes on a textured
// background (and both as JPEG, whose noise makes more rows busy), the
// face set and camera-like and flat photos.
func TestBarcodesMatchGozxing(t *testing.T) {
	type img struct {
		name string
		g    *image.Gray
	}
	var imgs []img
	formats, _ := oneDFormatsImage(t)
	imgs = append(imgs, img{"1d-formats", formats})
	codes := codes2DImage(t)
	imgs = append(imgs, img{"2d-codes", codes})
	for _, m := range []img{{"1d-formats", formats}, {"2d-codes", codes}} {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, m.g, &jpeg.Options{Quality: 70}); err != nil {
			t.Fatal(err)
		}
		d, err := jpeg.Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img{m.name + "-jpeg", toGray(d)})
	}
	for _, c := range faceSet(t)[:1] {
		imgs = append(imgs, img{c.pose, toGray(c.img)})
	}
	for _, cam := range []bool{false, true} {
		var b bytes.Buffer
		if err := synth.JPEG(&b, synth.PhotoSpec{W: 1024, H: 768, Camera: cam, Seed: 2}); err != nil {
			t.Fatal(err)
		}
		d, err := jpeg.Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img{map[bool]string{false: "flat", true: "camera"}[cam], toGray(d)})
	}
	found := 0
	for _, m := range imgs {
		w, h := m.g.Bounds().Dx(), m.g.Bounds().Dy()
		got := barcodes(m.g.Pix, w, h)
		want := findCodes(m.g.Pix, w, h, func(g *image.Gray) gozxing.LuminanceSource { return gozxing.NewLuminanceSourceFromImage(g) }, oneD(false))
		if !slices.Equal(got, want) {
			t.Errorf("%s: boxes %v, gozxing's source and every row %v", m.name, got, want)
		}
		found += len(got)
	}
	if found < 12 {
		t.Errorf("%d codes found in all: the comparison shows little", found)
	}
	t.Logf("%d codes found in %d images, the same boxes", found, len(imgs))
}

// TestMinOneDRuns: the shortest code of every 1D format the reader
// decodes has at least minOneDRuns runs of bars and spaces, so a row with
// fewer holds none.
func TestMinOneDRuns(t *testing.T) {
	for _, c := range []struct {
		w       gozxing.Writer
		f       gozxing.BarcodeFormat
		content string
	}{
		{oned.NewCode128Writer(), gozxing.BarcodeFormat_CODE_128, "1"},
		{oned.NewCode39Writer(), gozxing.BarcodeFormat_CODE_39, "A"},
		{oned.NewCode93Writer(), gozxing.BarcodeFormat_CODE_93, "A"},
		{oned.NewCodaBarWriter(), gozxing.BarcodeFormat_CODABAR, "A12B"},
		{oned.NewUPCEWriter(), gozxing.BarcodeFormat_UPC_E, "01234565"},
		{oned.NewEAN8Writer(), gozxing.BarcodeFormat_EAN_8, "96385074"},
		{oned.NewITFWriter(), gozxing.BarcodeFormat_ITF, "123456"},
	} {
		m, err := c.w.Encode(c.content, c.f, 0, 1, nil)
		if err != nil {
			t.Fatal(c.f, err)
		}
		row := gozxing.NewBitArray(m.GetWidth())
		for x := 0; x < m.GetWidth(); x++ {
			if m.Get(x, 0) {
				row.Set(x)
			}
		}
		// The code's own runs: from its first bar to its last.
		n := runs(row) - 2 // the quiet zones on either side
		if n < minOneDRuns {
			t.Errorf("%v %q: %d runs, under minOneDRuns %d", c.f, c.content, n, minOneDRuns)
		}
		// It is a code the reader reads (scaled up, in a quiet zone).
		g := image.NewGray(image.Rect(0, 0, 4*m.GetWidth()+80, 60))
		for i := range g.Pix {
			g.Pix[i] = 255
		}
		for y := 10; y < 50; y++ {
			for x := 0; x < 4*m.GetWidth(); x++ {
				if m.Get(x/4, 0) {
					g.SetGray(40+x, y, color.Gray{0})
				}
			}
		}
		if boxes := barcodes(g.Pix, g.Bounds().Dx(), g.Bounds().Dy()); len(boxes) != 1 {
			t.Errorf("%v %q: %d codes read", c.f, c.content, len(boxes))
		}
		t.Logf("%v %q: %d runs", c.f, c.content, n)
	}
}

// TestRuns: runs counts the runs of a row across word boundaries and up
// to its size.
func TestRuns(t *testing.T) {
	for _, c := range []struct {
		size int
		set  []int
		want int
	}{{1, nil, 1}, {1, []int{0}, 1}, {40, nil, 1}, {40, []int{39}, 2}, {64, []int{31, 32}, 3},
		{33, []int{0, 2, 4, 32}, 7}, {96, []int{31, 63, 64, 95}, 6}} {
		row := gozxing.NewBitArray(c.size)
		for _, i := range c.set {
			row.Set(i)
		}
		if got := runs(row); got != c.want {
			t.Errorf("size %d set %v: %d runs, want %d", c.size, c.set, got, c.want)
		}
	}
}

// toGray converts img to an image.Gray as the face pass reads it.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	grayInto(g.Pix, img)
	return g
}

// codes2DImage draws a QR code, a Data Matrix code and a Code 128
// barcode turned upright on a textured grey background.
func codes2DImage(t *testing.T) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, 900, 600))
	for y := 0; y < 600; y++ {
		for x := 0; x < 900; x++ {
			g.Pix[y*900+x] = uint8(90 + (x*7+y*13)%60)
		}
	}
	draw := func(m *gozxing.BitMatrix, at image.Point, upright bool) {
		for y := 0; y < m.GetHeight(); y++ {
			for x := 0; x < m.GetWidth(); x++ {
				v := uint8(250)
				if m.Get(x, y) {
					v = 10
				}
				if upright {
					g.SetGray(at.X+y, at.Y+x, color.Gray{v})
				} else {
					g.SetGray(at.X+x, at.Y+y, color.Gray{v})
				}
			}
		}
	}
	qr, err := qrcode.NewQRCodeWriter().Encode("PPI0001234", gozxing.BarcodeFormat_QR_CODE, 150, 150, nil)
	if err != nil {
		t.Fatal(err)
	}
	draw(qr, image.Pt(40, 40), false)
	dm, err := datamatrix.NewDataMatrixWriter().Encode("IPP4471239", gozxing.BarcodeFormat_DATA_MATRIX, 120, 120, nil)
	if err != nil {
		t.Fatal(err)
	}
	draw(dm, image.Pt(300, 60), false)
	bc, err := oned.NewCode128Writer().Encode("LAB77812", gozxing.BarcodeFormat_CODE_128, 260, 60, nil)
	if err != nil {
		t.Fatal(err)
	}
	draw(bc, image.Pt(600, 250), true)
	return g
}
