// Package ocr finds burned-in text in DICOM pixels with Tesseract, through
// github.com/otiai10/gosseract/v2 (cgo). It is built only with the "ocr"
// build tag and needs Debian's tesseract-ocr and libtesseract-dev; without
// the tag, [New] returns [ErrNotBuilt] and the default build needs no C
// library. A [Finder] implements masking.TextFinder.
package ocr

import "errors"

// ErrNotBuilt is returned by [New] when hdw was built without the "ocr"
// build tag.
var ErrNotBuilt = errors.New("ocr: built without the ocr tag (tesseract)")

// Config configures a [Finder].
type Config struct {
	// Languages for Tesseract, e.g. "eng" (default) or "eng+fra".
	Languages string
	// MinConfidence (0-100) below which a word is ignored; default 40.
	MinConfidence float64
	// Scale upsamples small images before recognition; default 2 for
	// images narrower than 512 pixels, else 1.
	Scale int
	// NoRotation skips the passes on the image turned by 90 and 270
	// degrees (vertical labels); they double the cost.
	NoRotation bool
}
