package dcm

import (
	"context"

	"hdw/masking"
)

// readText runs OCR on the cols x rows grey frame gray and returns the
// padded word boxes, in the frame's coordinates: a box grows by 2 plus a
// sixth of its smaller side on every side, so that antialiased glyph
// edges are covered and nothing else (SEC-PSE-4: the image around the
// text stays bit-identical). A frame whose longer side
// exceeds [masking.TextMaxSide] (a DICOM photograph, 4000x3000) is read
// on a copy reduced by an integer factor k, as photos are: each box is
// padded in the reduced image, then multiplied by k, so that it covers the
// k x k blocks that made the word's pixels (rounded outward). Smaller
// frames are read as they are (k = 1).
func readText(ctx context.Context, f masking.TextFinder, gray []byte, cols, rows int) ([]masking.Box, error) {
	g, w, h, k := masking.ReduceGray(gray, cols, rows, masking.TextMaxSide)
	found, err := f.FindText(ctx, g, w, h)
	if err != nil {
		return nil, err
	}
	out := make([]masking.Box, 0, len(found))
	for _, b := range found {
		m := 2 + min(b.X1-b.X0, b.Y1-b.Y0)/6
		out = append(out, masking.Box{
			X0: max(0, (b.X0-m)*k), Y0: max(0, (b.Y0-m)*k),
			X1: min(cols, (b.X1+m)*k), Y1: min(rows, (b.Y1+m)*k),
		})
	}
	return out, nil
}
