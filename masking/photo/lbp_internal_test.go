package photo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"slices"
	"testing"

	"hdw/masking"

	"github.com/disintegration/imaging"
)

// TestIssue20_ProfileCascadeParsed: the embedded opencv-data profile
// cascade is read whole (16 stages, 20x34 windows) and damaged or
// oversized files are refused.
func TestIssue20_ProfileCascadeParsed(t *testing.T) {
	c, err := parseLBP(lbpProfileXML)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range c.stages {
		n += len(s.weak)
	}
	if len(c.stages) != 16 || c.w != 20 || c.h != 34 || n == 0 {
		t.Fatalf("%d stages, %dx%d, %d stumps", len(c.stages), c.w, c.h, n)
	}
	for name, b := range map[string][]byte{
		"truncated":   lbpProfileXML[:len(lbpProfileXML)/2],
		"haar":        bytes.Replace(lbpProfileXML, []byte("<featureType>LBP"), []byte("<featureType>HAAR"), 1),
		"feature out": bytes.Replace(lbpProfileXML, []byte("0 1 1 9</rect>"), []byte("19 1 1 9</rect>"), 1),
		"oversized":   append(bytes.Repeat([]byte(" "), lbpMaxBytes), lbpProfileXML...),
		"empty":       nil,
	} {
		if _, err := parseLBP(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// FuzzParseLBP: a damaged cascade file is an error, never a panic, and a
// parsed one is within the bounds (every feature inside the window).
func FuzzParseLBP(f *testing.F) {
	f.Add(lbpProfileXML)
	f.Add(lbpProfileXML[:2000])
	f.Add([]byte(`<opencv_storage><cascade><stageType>BOOST</stageType><featureType>LBP</featureType><height>3</height><width>3</width><stageParams><maxDepth>1</maxDepth></stageParams><featureParams><maxCatCount>256</maxCatCount></featureParams><stages><_><stageThreshold>0</stageThreshold><weakClassifiers><_><internalNodes>0 -1 0 1 2 3 4 5 6 7 8</internalNodes><leafValues>1 -1</leafValues></_></weakClassifiers></_></stages><features><_><rect>0 0 1 1</rect></_></features></cascade></opencv_storage>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseLBP(b)
		if err != nil {
			return
		}
		for _, r := range c.feats {
			if r.x+3*r.w > c.w || r.y+3*r.h > c.h {
				t.Fatalf("feature %v outside the %dx%d window", r, c.w, c.h)
			}
		}
		g := make([]uint8, c.w*c.h)
		ii := integral(nil, g, c.w, c.h)
		var s lbpScaled
		c.scale(&s, 1, c.w+1)
		c.accepts(ii, 0, &s)
		c.mirrored()
	})
}

// TestIssue20_ProfileCascadeMatchesOpenCV: on a crop of two OpenCV
// documentation screenshots (testdata/photo/opencv-doc-lbp-crop.png, a
// grey 300x100 PNG), the evaluator accepts exactly the 20x34 windows
// that OpenCV 4.6.0's CascadeClassifier.detectMultiScale accepts with
// the same cascade at its base scale (Debian python3-opencv: scaleFactor
// 50, minNeighbors 0, minSize = maxSize = 20x34, recorded here), with
// OpenCV's scan (a shift of 2, one more after a first-stage rejection);
// and the mirrored cascade accepts on the mirrored crop exactly the
// mirrored windows, every position tried.
func TestIssue20_ProfileCascadeMatchesOpenCV(t *testing.T) {
	img := readTestImage(t, "opencv-doc-lbp-crop.png")
	want := []image.Point{{136, 34}, {38, 36}} // OpenCV 4.6.0, row by row
	h := New(Config{})
	c := h.profile[0]
	b := img.Bounds()
	w, ht := b.Dx(), b.Dy()
	g := grayPixels(img)
	ii := integral(nil, g, w, ht)
	var s lbpScaled
	c.scale(&s, 1, w+1)
	var got []image.Point
	for y := 0; y+c.h <= ht; y += 2 {
		for x := 0; x+c.w <= w; x += 2 {
			n := c.stagesPassed(ii, y*(w+1)+x, &s)
			if n == len(c.stages) {
				got = append(got, image.Pt(x, y))
			}
			if n == 0 {
				x += 2
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("accepted %v, OpenCV %v", got, want)
	}
	// Every window of the crop, and of its mirror with the mirrored
	// cascade.
	m := grayPixels(imaging.FlipH(img))
	im := integral(nil, m, w, ht)
	var ms lbpScaled
	h.profile[1].scale(&ms, 1, w+1)
	n := 0
	for y := 0; y+c.h <= ht; y++ {
		for x := 0; x+c.w <= w; x++ {
			a := c.accepts(ii, y*(w+1)+x, &s)
			if a != h.profile[1].accepts(im, y*(w+1)+w-c.w-x, &ms) {
				t.Fatalf("window (%d,%d): the cascade %v, the mirrored cascade on the mirror %v", x, y, a, !a)
			}
			n += b2i(a)
		}
	}
	if n < len(want) {
		t.Fatalf("%d windows accepted at shift 1, fewer than at shift 2", n)
	}
	t.Logf("%d windows accepted at shift 1, the same mirrored", n)
}

// TestIssue20_ProfileDetectionsMasked: what the profile pass accepts is
// filled in the output and counted as a face (masked-faces), at its place
// in the photo. The windows are the known answer of
// TestIssue20_ProfileCascadeMatchesOpenCV (printed text that the cascade
// takes for profiles, one window each: a lone window is masked here by
// lowering the neighbours to 1), in a PNG.
func TestIssue20_ProfileDetectionsMasked(t *testing.T) {
	defer func(n int) { profileMinNeighbors = n }(profileMinNeighbors)
	profileMinNeighbors = 1
	crop, err := os.ReadFile("../../testdata/photo/opencv-doc-lbp-crop.png")
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{ProfileMinSize: 20})
	var out bytes.Buffer
	res, err := h.Deidentify(context.Background(), &out, bytes.NewReader(crop), int64(len(crop)), masking.Person{}, masking.Options{Faces: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Actions, "masked-faces:2") {
		t.Fatalf("two profile windows, actions %v", res.Actions)
	}
	img, err := png.Decode(&out)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []image.Point{{136 + 10, 34 + 17}, {38 + 10, 36 + 17}} {
		if r, _, _, _ := img.At(p.X, p.Y).RGBA(); r != 0 {
			t.Errorf("window centre %v not filled", p)
		}
	}
}

// TestIssue20_ProfileFloodMasksAll: a photo in which the profile cascade
// accepts more windows than profileMaxHits is masked whole (the grouping
// is bounded; fail closed).
func TestIssue20_ProfileFloodMasksAll(t *testing.T) {
	defer func(n int) { profileMaxHits = n }(profileMaxHits)
	profileMaxHits = 1
	img := readTestImage(t, "opencv-doc-lbp-crop.png")
	b := img.Bounds()
	got := New(Config{}).profiles(grayPixels(img), b.Dx(), b.Dy(), 20)
	if len(got) != 1 || got[0] != image.Rect(0, 0, b.Dx(), b.Dy()) {
		t.Fatalf("more windows than the bound: %v, want the whole image", got)
	}
}
