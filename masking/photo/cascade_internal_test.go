package photo

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	pigo "github.com/esimov/pigo/core"

	"hdw/synth"
)

// TestCascadeMatchesPigo: the cascade runner gives pigo's RunCascade
// detections (positions, sizes, scores, order) bit for bit, on the
// labeled face set and a face-free camera-like photo, at the parameters
// faces uses and at a coarser shift.
func TestCascadeMatchesPigo(t *testing.T) {
	h := New(Config{})
	var imgs []image.Image
	for _, c := range faceSet(t) {
		imgs = append(imgs, c.img)
	}
	var b bytes.Buffer
	if err := synth.JPEG(&b, synth.PhotoSpec{W: 640, H: 480, Camera: true, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	cam, err := jpeg.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	imgs = append(imgs, cam)
	var offs []int32
	total := 0
	for i, img := range imgs {
		bd := img.Bounds()
		ip := pigo.ImageParams{Pixels: grayPixels(img), Rows: bd.Dy(), Cols: bd.Dx(), Dim: bd.Dx()}
		for _, shift := range []float64{0.1, 0.15} {
			p := pigo.CascadeParams{MinSize: 20, MaxSize: min(ip.Rows, ip.Cols), ShiftFactor: shift, ScaleFactor: 1.1, ImageParams: ip}
			want := h.face.RunCascade(p, 0)
			var got []pigo.Detection
			got, offs = h.faceC.run(p, offs)
			if len(got) != len(want) {
				t.Fatalf("image %d shift %v: %d detections, pigo %d", i, shift, len(got), len(want))
			}
			for k := range got {
				if got[k] != want[k] {
					t.Fatalf("image %d shift %v detection %d: %+v, pigo %+v", i, shift, k, got[k], want[k])
				}
			}
			total += len(got)
		}
	}
	if total == 0 {
		t.Fatal("no detection at all: the comparison shows nothing")
	}
	t.Logf("%d detections identical", total)
}

// FuzzParseCascade: a damaged cascade file is an error, never a panic.
func FuzzParseCascade(f *testing.F) {
	f.Add(facefinder[:64])
	f.Add(facefinder)
	f.Fuzz(func(t *testing.T, b []byte) {
		parseCascade(b)
	})
}
