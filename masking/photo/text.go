package photo

import (
	"context"
	"image"

	"hdw/masking"
)

// textIn returns the padded boxes of the words OCR reads in l, the luma
// of a photo (none without a finder): every word is masked,
// as in DICOM (SEC-PSE-4). An OCR failure quarantines the photo: its text
// was not examined.
func (h *Handler) textIn(ctx context.Context, l *luma, f masking.TextFinder) ([]image.Rectangle, error) {
	if f == nil {
		return nil, nil
	}
	// Larger photos are reduced first, as DICOM frames are (masking.TextMaxSide).
	b := l.b
	g, cols, rows, k := l.reduced(masking.TextMaxSide)
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
