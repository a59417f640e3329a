//go:build !ocr

package main

import "hdw/masking"

// ocrFinder is nil without the ocr build tag: DICOM files that need their
// burned-in text located and have no configured mask are quarantined.
func ocrFinder() masking.TextFinder { return nil }
