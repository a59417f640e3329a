//go:build !ocr

package ocr

import (
	"context"

	"hdw/masking"
)

// Finder is unavailable without the "ocr" build tag.
type Finder struct{}

var _ masking.TextFinder = (*Finder)(nil)

// New returns ErrNotBuilt: hdw was built without Tesseract.
func New(Config) (*Finder, error) { return nil, ErrNotBuilt }

// FindText returns ErrNotBuilt.
func (*Finder) FindText(context.Context, []byte, int, int) ([]masking.Box, error) {
	return nil, ErrNotBuilt
}
