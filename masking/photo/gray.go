package photo

import (
	"image"
	"image/color"

	"hdw/masking"
)

// luma is a photo's grey image (pix, the photo's bounds b) as the
// visible-content passes read it, with the reductions they asked for:
// the face and text passes reduce a large photo by the same factor
// (FaceMaxSide and masking.TextMaxSide are both 2048 by default), once.
type luma struct {
	pix  []uint8
	b    image.Rectangle
	done []reducedLuma
}

type reducedLuma struct {
	pix           []uint8
	cols, rows, f int
}

// reduced is masking.ReduceGray of l to maxSide, computed once per
// factor.
func (l *luma) reduced(maxSide int) (g []uint8, cols, rows, f int) {
	w, h := l.b.Dx(), l.b.Dy()
	f = (max(w, h) + maxSide - 1) / maxSide
	if f <= 1 {
		return l.pix, w, h, 1
	}
	for _, r := range l.done {
		if r.f == f {
			return r.pix, r.cols, r.rows, r.f
		}
	}
	g, cols, rows, f = masking.ReduceGray(l.pix, w, h, maxSide)
	l.done = append(l.done, reducedLuma{g, cols, rows, f})
	return g, cols, rows, f
}

// grayPixels returns the luma of img, row after row. A decoded JPEG
// (YCbCr) or a gray image gives its Y plane as is; other images go pixel
// by pixel through color.GrayModel (45 ms for 2 MP, against 0.2 ms for
// the plane copy).
func grayPixels(img image.Image) []uint8 {
	b := img.Bounds()
	return grayInto(make([]uint8, b.Dx()*b.Dy()), img)
}

// getGray returns a pooled buffer of n bytes (to be put back in h.grays).
func (h *Handler) getGray(n int) *[]uint8 {
	p, _ := h.grays.Get().(*[]uint8)
	if p == nil {
		p = new([]uint8)
	}
	if cap(*p) < n {
		*p = make([]uint8, n)
	}
	*p = (*p)[:n]
	return p
}

// grayInto is grayPixels into gray (len: the image's pixels). An RGBA or
// NRGBA image (a photo whose orientation was baked, a PNG) is converted
// from its pixel slice with color.GrayModel's formula, the same values
// without an interface call per pixel.
func grayInto(gray []uint8, img image.Image) []uint8 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.NRGBA:
		return grayRGBA(gray, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, w, h, true)
	case *image.RGBA:
		return grayRGBA(gray, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, w, h, false)
	}
	switch m := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			o := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(gray[y*w:(y+1)*w], m.Y[o:o+w])
		}
		return gray
	case *image.Gray:
		for y := 0; y < h; y++ {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(gray[y*w:(y+1)*w], m.Pix[o:o+w])
		}
		return gray
	}
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			gray[i] = color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
			i++
		}
	}
	return gray
}

// grayRGBA converts w x h pixels of 4 bytes (rows stride bytes apart) to
// luma with color.GrayModel's formula; nonPremultiplied applies the alpha
// first (NRGBA), as the model's RGBA() does.
func grayRGBA(gray, pix []uint8, stride, w, h int, nonPremultiplied bool) []uint8 {
	for y := 0; y < h; y++ {
		row, out := pix[y*stride:y*stride+4*w], gray[y*w:(y+1)*w]
		for x := range out {
			p := row[4*x : 4*x+4]
			r, g, bl := uint32(p[0])*0x101, uint32(p[1])*0x101, uint32(p[2])*0x101
			if nonPremultiplied {
				a := uint32(p[3])
				r, g, bl = r*a/0xff, g*a/0xff, bl*a/0xff
			}
			out[x] = uint8((19595*r + 38470*g + 7471*bl + 1<<15) >> 24)
		}
	}
	return gray
}
