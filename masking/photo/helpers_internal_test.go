package photo

import (
	"image"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"
)

// readTestImage decodes the image file name of testdata/photo.
func readTestImage(t testing.TB, name string) image.Image {
	t.Helper()
	img, err := imaging.Open(filepath.Join("../../testdata/photo", name))
	if err != nil {
		t.Fatal(err)
	}
	return img
}
