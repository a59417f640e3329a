package photo

import (
	"context"
	"image"

	"hdw/masking"
)

// textMaxSide bounds the longer side of the grey image OCR reads in a
// photo: larger photos are reduced by an integer factor first (Tesseract's
// cost grows with the pixels; a name badge or wristband stays legible).
const textMaxSide = 2048

// textIn returns the padded boxes of the words OCR reads in g, the luma
// of a photo of bounds b (none without a finder): every word is masked,
// as in DICOM (SEC-PSE-4). An OCR failure quarantines the photo: its text
// was not examined.
func (h *Handler) textIn(ctx context.Context, g []uint8, b image.Rectangle, f masking.TextFinder) ([]image.Rectangle, error) {
	if f == nil {
		return nil, nil
	}
	g, cols, rows, k := reduce(g, b.Dx(), b.Dy(), textMaxSide)
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
