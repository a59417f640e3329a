package photo

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

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
	}{{"faces", func(i image.Image) { h.faces(i) }}, {"barcodes", func(i image.Image) { h.codes(i) }}} {
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
