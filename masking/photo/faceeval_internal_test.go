package photo

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"testing"

	"github.com/disintegration/imaging"

	"hdw/synth"
)

// faceCase is one labeled image of the face evaluation set: the photo and
// the centre of the face in it.
type faceCase struct {
	pose   string
	img    image.Image
	center image.Point
}

// faceSet builds the labeled set from the licensed portrait
// (testdata/photo/pigo-sample-face.jpg, MIT) by augmentation: mirrored,
// tilted by 10 to 30 degrees either way, scaled down to faces of 24 to
// 64 px on a textured background, and partly covered (a mask over the
// mouth, a band over the eyes, a hand-like block over one side).
func faceSet(t testing.TB) []faceCase {
	src := readTestImage(t, "pigo-sample-face.jpg")
	// The face: centred on the nose (160, 220), about 180 px wide.
	nose := image.Pt(160, 220)
	const faceW = 180.0
	var set []faceCase
	set = append(set, faceCase{"frontal", src, nose})
	set = append(set, faceCase{"frontal-mirrored", imaging.FlipH(src), image.Pt(src.Bounds().Dx()-1-nose.X, nose.Y)})
	for _, deg := range []float64{-30, -20, -10, 10, 20, 30} {
		r := imaging.Rotate(src, deg, color.Gray{128})
		// imaging.Rotate turns counter-clockwise around the centre and
		// grows the canvas to hold the result.
		c := image.Pt(src.Bounds().Dx()/2, src.Bounds().Dy()/2)
		dx, dy := float64(nose.X-c.X), float64(nose.Y-c.Y)
		a := deg * math.Pi / 180
		x := dx*math.Cos(a) + dy*math.Sin(a)
		y := -dx*math.Sin(a) + dy*math.Cos(a)
		set = append(set, faceCase{fmt.Sprintf("tilted-%+.0f", deg), r, image.Pt(r.Bounds().Dx()/2+int(x), r.Bounds().Dy()/2+int(y))})
	}
	for _, px := range []int{24, 32, 48, 64} {
		k := float64(px) / faceW
		small := imaging.Resize(src, int(float64(src.Bounds().Dx())*k), 0, imaging.Lanczos)
		bg := imaging.New(480, 360, color.NRGBA{110, 120, 100, 255})
		for y := 0; y < 360; y += 2 {
			for x := (y / 2) % 4; x < 480; x += 4 {
				bg.Set(x, y, color.NRGBA{140, 130, 120, 255})
			}
		}
		at := image.Pt(200, 150)
		draw.Draw(bg, small.Bounds().Add(at), small, image.Point{}, draw.Src)
		set = append(set, faceCase{fmt.Sprintf("small-%dpx", px), bg, at.Add(image.Pt(int(float64(nose.X)*k), int(float64(nose.Y)*k)))})
	}
	cover := func(name string, r image.Rectangle, c color.Color) {
		img := imaging.Clone(src)
		draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
		set = append(set, faceCase{name, img, nose})
	}
	cover("occluded-mouth-mask", image.Rect(85, 230, 235, 320), color.NRGBA{200, 220, 230, 255})
	cover("occluded-eye-band", image.Rect(70, 160, 250, 195), color.Black)
	cover("occluded-side", image.Rect(160, 120, 260, 330), color.NRGBA{190, 150, 120, 255})
	return set
}

// faceFree is the face-free part of the evaluation: synthetic anatomy
// and camera-like photos, for the false faces per image.
func faceFree() []image.Image {
	imgs := []image.Image{synth.Anatomy(640, 480, 1), synth.Anatomy(800, 600, 2)}
	for _, s := range []uint64{1, 2, 3} {
		var b bytes.Buffer
		synth.JPEG(&b, synth.PhotoSpec{W: 1024, H: 768, Camera: true, Seed: s})
		img, _ := jpeg.Decode(&b)
		imgs = append(imgs, img)
	}
	return imgs
}

// poseGroup is the pose a labeled case stands for: its name up to the
// first '-'.
func poseGroup(pose string) string {
	for i, r := range pose {
		if r == '-' {
			return pose[:i]
		}
	}
	return pose
}

// TestSEC_PSE_4_FaceRecall measures the face pass (frontal cascade and
// the profile cascade both ways) on the labeled set and logs, per pose,
// recall and the boxes masked away from the face; then the false faces
// per face-free image (HDW_FACE_REPORT=1 logs every case). Every case
// must be found, and at most one false face in the five face-free
// images. A case counts as found when a masked face box holds its face
// centre (and, for the small faces, is at least the face's size). The
// set has no profile face: no profile portrait with a licence that
// allows it was found in the packages reachable here (opencv-data,
// opencv-doc, pigo's module, npm face packages; testdata/PROVENANCE.md):
// the profile rows say so rather than report a figure.
func TestSEC_PSE_4_FaceRecall(t *testing.T) {
	h := New(Config{})
	type tally struct{ n, found, elsewhere int }
	groups := map[string]*tally{}
	for _, c := range faceSet(t) {
		faces, _ := h.faces(c.img)
		hit := false
		for _, f := range faces {
			if !c.center.In(f) {
				continue
			}
			hit = true
			// A small face's side is known: the masked box, in the
			// photo's coordinates, must be at least that large.
			var px int
			if _, err := fmt.Sscanf(c.pose, "small-%dpx", &px); err == nil && (f.Dx() < px || f.Dy() < px) {
				t.Errorf("%s: masked box %v smaller than the face", c.pose, f)
			}
		}
		g := groups[poseGroup(c.pose)]
		if g == nil {
			g = &tally{}
			groups[poseGroup(c.pose)] = g
		}
		g.n++
		for _, f := range faces {
			if !c.center.In(f) {
				g.elsewhere++
			}
		}
		if hit {
			g.found++
		}
		if os.Getenv("HDW_FACE_REPORT") != "" {
			t.Logf("%-22s found %v (%d boxes)", c.pose, hit, len(faces))
		}
	}
	t.Logf("| pose | recall | boxes away from the face, per image |")
	t.Logf("|---|---|---|")
	for _, name := range []string{"frontal", "tilted", "small", "occluded"} {
		g := groups[name]
		t.Logf("| %s | %d/%d | %.2f |", name, g.found, g.n, float64(g.elsewhere)/float64(g.n))
		if g.found != g.n {
			t.Errorf("%s: %d of %d faces found", name, g.found, g.n)
		}
	}
	t.Logf("| profile, left and right | not measured: no licensed profile image | |")
	free := faceFree()
	n := 0
	for _, img := range free {
		f, _ := h.faces(img)
		n += len(f)
	}
	t.Logf("| face-free images | | %.2f (%d in %d) |", float64(n)/float64(len(free)), n, len(free))
	if n > 1 {
		t.Errorf("%d false faces in %d face-free images", n, len(free))
	}
}

// TestFaceQSweep (HDW_FACE_REPORT=1) logs recall and false boxes on the
// labeled set for several score thresholds.
func TestFaceQSweep(t *testing.T) {
	if os.Getenv("HDW_FACE_REPORT") == "" {
		t.Skip("report only")
	}
	h := New(Config{})
	set := faceSet(t)
	for _, q := range []float32{5, 3, 2, 1, 0.5} {
		faceMinQ = q
		found, fp := 0, 0
		for _, c := range set {
			faces, _ := h.faces(c.img)
			hit := false
			for _, f := range faces {
				if c.center.In(f) {
					hit = true
				} else {
					fp++
				}
			}
			if hit {
				found++
			}
		}
		t.Logf("Q>=%.1f: %d/%d found, %d boxes elsewhere", q, found, len(set), fp)
	}
	faceMinQ = 1
}

// TestFaceQSweepNoFace (HDW_FACE_REPORT=1) logs the false faces found in
// face-free images (synthetic anatomy and camera-like photos) for several
// score thresholds.
func TestFaceQSweepNoFace(t *testing.T) {
	if os.Getenv("HDW_FACE_REPORT") == "" {
		t.Skip("report only")
	}
	h := New(Config{})
	imgs := faceFree()
	for _, q := range []float32{5, 2, 1} {
		faceMinQ = q
		n := 0
		for _, img := range imgs {
			f, _ := h.faces(img)
			n += len(f)
		}
		t.Logf("Q>=%.1f: %d false faces in %d face-free images", q, n, len(imgs))
	}
	faceMinQ = 1
}

// TestSEC_PSE_4_FaceLowContrast: the frontal cascade compares pixels
// pairwise, so it finds faces whatever their contrast: the portrait and
// the 24 and 48 px faces with their grey levels squeezed into 8 (an
// underexposed face: black to 7, a grey 100 to 107, a bright 230 to
// 237) are still found. A "flat window" gate (skip windows whose grey
// range is under a threshold, as Viola-Jones detectors do) would save
// most of the face pass on smooth synthetic photos, whose windows span
// 4 to 16 grey levels, but would lose these faces: the face pass has
// none (issue 24 item 4).
func TestSEC_PSE_4_FaceLowContrast(t *testing.T) {
	h := New(Config{})
	for _, c := range faceSet(t) {
		if c.pose != "frontal" && c.pose != "small-24px" && c.pose != "small-48px" {
			continue
		}
		g := grayPixels(c.img)
		for _, lo := range []int{0, 100, 230} {
			squeezed := make([]uint8, len(g))
			for i, v := range g {
				squeezed[i] = uint8(lo + (int(v)*8)/256)
			}
			faces, _ := h.facesIn(&luma{pix: squeezed, b: c.img.Bounds()})
			found := false
			for _, f := range faces {
				found = found || c.center.In(f)
			}
			if !found {
				t.Errorf("%s in 8 grey levels from %d: not found (%d boxes)", c.pose, lo, len(faces))
			}
		}
	}
}
