//go:build ocr

package main

import (
	"hdw/masking"
	"hdw/masking/dcm/ocr"
)

// ocrFinder returns the Tesseract text finder (build tag ocr): burned-in
// text without a configured mask is located and blanked.
func ocrFinder() masking.TextFinder {
	f, err := ocr.New(ocr.Config{})
	if err != nil {
		return nil
	}
	return f
}
