package photo

import (
	"context"
	"image"

	"hdw/masking"
)

// textIn returns the padded boxes of the words OCR reads in g, the luma
// of a photo of bounds b (none without a finder): every word is masked,
// as in DICOM (SEC-PSE-4). An OCR failure quarantines the photo: its text
// was not examined.
func (h *Handler) textIn(ctx context.Context, g []uint8, b image.Rectangle, f masking.TextFinder) ([]image.Rectangle, error) {
	if f == nil {
		return nil, nil
	}
	// Larger photos are reduced first, as DICOM frames are (masking.TextMaxSide).
	g, cols, rows, k := masking.ReduceGray(g, b.Dx(), b.Dy(), masking.TextMaxSide)
	words, err := f.FindText(ctx, g, cols, rows)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, masking.Quarantine("photo text: ocr failed")
	}
	var out []image.Rectangle
	for _, w := range words {
		m := 2 + min(w.X1-w.X0, w.Y1-w.Y0)/6
		r := image.Rect((w.X0-m)*k, (w.Y0-m)*k, (w.X1+m)*k, (w.Y1+m)*k).Add(b.Min)
		out = append(out, r.Intersect(b))
	}
	return out, nil
}
