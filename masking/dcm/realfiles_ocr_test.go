//go:build ocr

package dcm_test

import (
	"testing"

	"hdw/masking"
	"hdw/masking/dcm/ocr"
)

func init() {
	sampleOCR = func(t *testing.T) masking.TextFinder { return tesseract(t) }
}

// tesseract returns the production OCR (Tesseract), failing t when it
// cannot start.
func tesseract(t testing.TB) *ocr.Finder {
	t.Helper()
	f, err := ocr.New(ocr.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}
