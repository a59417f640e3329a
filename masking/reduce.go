package masking

// TextMaxSide bounds the longer side of the grey image that OCR reads:
// larger images are reduced by an integer factor first ([ReduceGray]);
// Tesseract's cost grows with the pixels, and a name on a label or badge
// stays legible at this size.
const TextMaxSide = 2048

// ReduceGray returns the w x h grey image g reduced by the smallest
// integer factor f that brings its longer side to maxSide or less (box
// filter: each pixel the mean of an f x f block; the last w mod f columns
// and h mod f rows are dropped), with its size and f. With f = 1 it
// returns g as is. A box (X0, Y0)-(X1, Y1) of the reduced image covers
// (X0*f, Y0*f)-(X1*f, Y1*f) of g.
func ReduceGray(g []uint8, w, h, maxSide int) ([]uint8, int, int, int) {
	f := (max(w, h) + maxSide - 1) / maxSide
	if f <= 1 {
		return g, w, h, 1
	}
	rw, rh := w/f, h/f
	out := make([]uint8, rw*rh)
	sums := make([]uint32, rw)
	n := uint32(f * f)
	for ry := 0; ry < rh; ry++ {
		clear(sums)
		for y := ry * f; y < ry*f+f; y++ {
			for x, v := range g[y*w : y*w+rw*f] {
				sums[x/f] += uint32(v)
			}
		}
		for x, s := range sums {
			out[ry*rw+x] = uint8((s + n/2) / n)
		}
	}
	return out, rw, rh, f
}
