package photo

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"

	"hdw/synth"
)

// BenchmarkVisibleContent2MP measures, side by side on one camera-like
// 2 MP photo, the face pass and the barcode pass of mask (the machine is
// shared: compare the two, not the absolute figures).
func BenchmarkVisibleContent2MP(b *testing.B) {
	var in bytes.Buffer
	if err := synth.JPEG(&in, synth.PhotoSpec{W: 1632, H: 1224, Camera: true}); err != nil {
		b.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(in.Bytes()))
	if err != nil {
		b.Fatal(err)
	}
	h := New(Config{})
	for _, c := range []struct {
		name string
		run  func(image.Image)
	}{{"faces", func(i image.Image) { h.faces(i) }}, {"profiles", func(i image.Image) {
		b := i.Bounds()
		h.profiles(grayPixels(i), b.Dx(), b.Dy(), h.cfg.ProfileMinSize)
	}}, {"barcodes", func(i image.Image) { h.codes(i) }}} {
		b.Run(c.name, func(b *testing.B) {
			cpu := CPUTime()
			for i := 0; i < b.N; i++ {
				c.run(img)
			}
			b.ReportMetric(float64(b.N)*2.0/b.Elapsed().Seconds(), "MP/s")
			ms := float64(CPUTime()-cpu) / 1e6 / float64(b.N)
			b.ReportMetric(ms, "cpu-ms/op")
			b.ReportMetric(ms/2.0, "cpu-ms/MP")
		})
	}
}

// TestSEC_PSE_4_Barcodes1DFormats: every 1D format hdw masks is found, two
// of them turned upright, several in one photo (the formats share one
// reader, oneD).
func TestSEC_PSE_4_Barcodes1DFormats(t *testing.T) {
	g, centres := oneDFormatsImage(t)
	boxes := barcodes(g.Pix, 1400, 1000)
	for i, c := range centres {
		found := false
		for _, b := range boxes {
			found = found || c.In(b)
		}
		if !found {
			t.Errorf("%v (upright %v) not masked; boxes %v", oneDFormats[i].f, oneDFormats[i].upright, boxes)
		}
	}
}

// oneDFormats are the codes of oneDFormatsImage.
var oneDFormats = []struct {
	w       gozxing.Writer
	f       gozxing.BarcodeFormat
	content string
	upright bool
}{
	{oned.NewCode128Writer(), gozxing.BarcodeFormat_CODE_128, "IPP4471239", false},
	{oned.NewCode39Writer(), gozxing.BarcodeFormat_CODE_39, "PPI0001234", false},
	{oned.NewCode93Writer(), gozxing.BarcodeFormat_CODE_93, "LAB12345", true},
	{oned.NewCodaBarWriter(), gozxing.BarcodeFormat_CODABAR, "A40156B", false},
	{oned.NewEAN13Writer(), gozxing.BarcodeFormat_EAN_13, "4006381333931", false},
	{oned.NewITFWriter(), gozxing.BarcodeFormat_ITF, "00123456789012", true},
}

// oneDFormatsImage draws every 1D format hdw masks (oneDFormats) on a
// 1400x1000 grey image and returns it with the codes' centres.
func oneDFormatsImage(t *testing.T) (*image.Gray, []image.Point) {
	g := image.NewGray(image.Rect(0, 0, 1400, 1000))
	for i := range g.Pix {
		g.Pix[i] = 200
	}
	var centres []image.Point
	for i, c := range oneDFormats {
		m, err := c.w.Encode(c.content, c.f, 300, 60, nil)
		if err != nil {
			t.Fatal(err)
		}
		at := image.Pt(60+(i%3)*450, 80+(i/3)*450)
		mw, mh := m.GetWidth(), m.GetHeight()
		for y := 0; y < mh; y++ {
			for x := 0; x < mw; x++ {
				v := uint8(255)
				if m.Get(x, y) {
					v = 0
				}
				if c.upright {
					g.SetGray(at.X+y, at.Y+x, color.Gray{v})
				} else {
					g.SetGray(at.X+x, at.Y+y, color.Gray{v})
				}
			}
		}
		if c.upright {
			mw, mh = mh, mw
		}
		centres = append(centres, at.Add(image.Pt(mw/2, mh/2)))
	}
	return g, centres
}
