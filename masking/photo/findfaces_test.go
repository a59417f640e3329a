package photo_test

import (
	"image"
	"image/jpeg"
	"os"
	"testing"

	"hdw/masking/photo"
)

// TestIssue20_FindFaces: the exported face finder (used by masking/dcm for
// DICOM photographs) finds the sample portrait's face, clipped to the
// image, and nothing in a blank image.
func TestIssue20_FindFaces(t *testing.T) {
	f, err := os.Open("../../testdata/photo/pigo-sample-face.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	h := photo.New(photo.Config{})
	faces := h.FindFaces(img)
	if len(faces) == 0 {
		t.Fatal("no face found in the sample portrait")
	}
	nose := image.Pt(160, 220)
	hit := false
	for _, r := range faces {
		if !r.In(img.Bounds()) {
			t.Errorf("face %v not clipped to %v", r, img.Bounds())
		}
		hit = hit || nose.In(r)
	}
	if !hit {
		t.Errorf("faces %v miss the nose at %v", faces, nose)
	}
	if got := h.FindFaces(image.NewGray(image.Rect(0, 0, 320, 400))); len(got) != 0 {
		t.Errorf("faces %v in a blank image", got)
	}
}
