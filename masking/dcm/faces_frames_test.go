package dcm_test

import (
	"image"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"hdw/masking/dcm"
)

// countingFinder counts the frames the photo finder is given.
type countingFinder struct {
	dcm.PhotoFinder
	frames atomic.Int32
}

func (c *countingFinder) FindFaces(img image.Image) []image.Rectangle {
	c.frames.Add(1)
	return c.PhotoFinder.FindFaces(img)
}

// noisy is a face-free frame (the gradient) with sensor-like noise of +-3.
func noisy(rows, cols int, seed uint64) []byte {
	out := faceFree(rows, cols)
	r := rand.New(rand.NewPCG(seed, 7))
	for i, v := range out {
		out[i] = byte(min(255, max(0, int(v)+r.IntN(7)-3)))
	}
	return out
}

// blend returns a*(1-alpha) + b*alpha, per sample.
func blend(a, b []byte, alpha float64) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = byte(float64(a[i])*(1-alpha) + float64(b[i])*alpha + 0.5)
	}
	return out
}

// TestIssue20_DICOMPhotoVideoFrames: in a 16-frame XC video of a still,
// noisy scene, a wristband's QR code and barcode shown in frame 3 only and
// a face shown in frame 9 only (or fading in over frames 8 to 11) are
// filled on every frame, every other pixel is unchanged, and fewer frames
// than the video holds are searched: the first, middle and last and those
// whose content changed.
func TestIssue20_DICOMPhotoVideoFrames(t *testing.T) {
	face, rows, cols := portrait(t)
	const n = 16
	qr, bc := wristband(t)
	for _, c := range []struct {
		name string
		fade bool
	}{{"appears", false}, {"fades-in", true}} {
		t.Run(c.name, func(t *testing.T) {
			frames := make([][]byte, n)
			for f := range frames {
				frames[f] = noisy(rows, cols, uint64(f))
			}
			drawCode(frames[3], cols, qr, image.Pt(20, 20))
			drawCode(frames[3], cols, bc, image.Pt(60, 300))
			if c.fade {
				for f, a := range map[int]float64{8: 0.25, 9: 0.5, 10: 0.75, 11: 1} {
					frames[f] = blend(frames[f], face, a)
				}
			} else {
				frames[9] = face
			}
			spec := photoSpec("XC", "", nil, rows, cols, "")
			spec.Frames8 = frames
			finder := &countingFinder{PhotoFinder: faceFinder}
			out, res, err := deidPhoto(t, dcm.Config{Faces: finder}, gen(t, spec))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("actions %v, %d of %d frames searched", res.Actions, finder.frames.Load(), n)
			codes := faceFinder.FindCodes(dcm.FaceImageRGB(frames[3], rows, cols))
			faces := faceFinder.FindFaces(dcm.FaceImageRGB(face, rows, cols))
			if len(codes) != 2 || len(faces) == 0 {
				t.Fatalf("the detector finds %d codes and %d faces in the input", len(codes), len(faces))
			}
			if !slices.Contains(res.Actions, "masked-codes:2") || !slices.Contains(res.Actions, "pixels:faces") {
				t.Errorf("actions %v: want 2 codes and the face", res.Actions)
			}
			// What may be filled: the codes, and the faces the detector
			// finds in any frame (those searched are among them).
			filled := slices.Clone(codes)
			for _, fr := range frames {
				filled = append(filled, faceFinder.FindFaces(dcm.FaceImageRGB(fr, rows, cols))...)
			}
			if k := finder.frames.Load(); k >= n || k < 3 {
				t.Errorf("%d of %d frames searched", k, n)
			}
			raw, _, _ := pixelsOf(t, out)
			size := rows * cols * 3
			// The nose of the face and the middle of each code are
			// filled on every frame, and nothing else changes.
			for f := 0; f < n; f++ {
				for _, p := range []image.Point{{160, 220}, {70, 70}, {160, 325}} {
					if i := f*size + 3*(p.Y*cols+p.X); raw[i]|raw[i+1]|raw[i+2] != 0 {
						t.Errorf("frame %d: %v not filled", f, p)
					}
				}
				for y := 0; y < rows; y++ {
					for x := 0; x < cols; x++ {
						i := f*size + 3*(y*cols+x)
						in := slices.ContainsFunc(filled, image.Pt(x, y).In)
						if !in && (raw[i] != frames[f][3*(y*cols+x)] || raw[i+2] != frames[f][3*(y*cols+x)+2]) {
							t.Fatalf("frame %d: pixel (%d,%d) changed away from the face and the codes", f, x, y)
						}
					}
				}
			}
		})
	}
}

// BenchmarkIssue20_DICOMPhotoVideo measures the face and code pass on a
// 60-frame XC video (320x400 native RGB) of a still, noisy scene in which
// a face is shown in frame 40, with the frames searched per video.
func BenchmarkIssue20_DICOMPhotoVideo(b *testing.B) {
	face, rows, cols := portrait(b)
	spec := photoSpec("XC", "", nil, rows, cols, "")
	spec.Frames8 = make([][]byte, 60)
	for f := range spec.Frames8 {
		spec.Frames8[f] = noisy(rows, cols, uint64(f))
	}
	spec.Frames8[40] = face
	finder := &countingFinder{PhotoFinder: faceFinder}
	benchFileWith(b, dcm.New(dcm.Config{Faces: finder}), gen(b, spec), func(o *optsT) { o.Faces, o.OCR = true, &fakeOCR{} })
	b.ReportMetric(float64(finder.frames.Load())/float64(b.N), "frames-searched/op")
}
