//go:build ocr

package dcm_test

import (
	"testing"

	"hdw/masking"
	"hdw/masking/dcm/ocr"
)

func init() {
	sampleOCR = func(t *testing.T) masking.TextFinder {
		f, err := ocr.New(ocr.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
}
