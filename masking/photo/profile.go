package photo

import (
	_ "embed"
	"image"
	"math"
)

// The profile-face pass: OpenCV's LBP profile cascade (opencv-data), run
// on the photo and, mirrored, for faces turned the other way.

// lbpProfileXML is opencv-data's lbpcascades/lbpcascade_profileface.xml
// (BSD-3-Clause, cascade/LICENSE-opencv-data): a 20x34 window, faces
// turned to their left (the person's right cheek to the camera).
//
//go:embed cascade/lbpcascade_profileface.xml
var lbpProfileXML []byte

// profileMinNeighbors is the number of overlapping windows a profile
// needs to be taken for a face: 2, OpenCV's minNeighbors 1 (its usual 3
// misses faces: a low-confidence face is masked anyway). A lone window
// is not: on the five face-free images of the evaluation it gives 14
// false faces, against none from 2 up.
var profileMinNeighbors = 2

// profileMaxHits bounds the windows accepted in one photo (grouping them
// costs the square of their number): a photo with more, which no real
// photo comes near (a face gives tens, a page of text hundreds), is
// masked whole, fail closed.
var profileMaxHits = 8192

// profiles returns the profile faces in the w x h grey g (one box per
// group of overlapping windows with at least profileMinNeighbors
// windows), of width minW pixels or more, in g's coordinates; beyond
// profileMaxHits windows, the whole image.
func (h *Handler) profiles(g []uint8, w, ht, minW int) []image.Rectangle {
	c := h.profile[0]
	iip, _ := h.integrals.Get().(*[]uint32)
	if iip == nil {
		iip = new([]uint32)
	}
	*iip = integral(*iip, g, w, ht)
	ii := *iip
	stride := w + 1
	var hits []image.Rectangle
	var sc [2]lbpScaled
	for k := max(1, float64(minW)/float64(c.w)); ; k *= profileScaleStep {
		h.profile[0].scale(&sc[0], k, stride)
		h.profile[1].scale(&sc[1], k, stride)
		// The window's extent: rounded cells may reach a pixel or two
		// past k times the cascade's window.
		ww, wh := max(sc[0].w, sc[1].w), max(sc[0].h, sc[1].h)
		if ww > w || wh > ht {
			break
		}
		// Windows every profileShift*k pixels (OpenCV's 2 pixels of
		// its reduced image), rounded down to whole pixels: in 16ths.
		step := max(16, int(profileShift*k*16))
		for fy := 0; fy/16+wh <= ht; fy += step {
			y := fy / 16
			for fx := 0; fx/16+ww <= w; fx += step {
				x := fx / 16
				base := y*stride + x
				first := 0 // cascades that pass the first stage
				for d := range h.profile {
					n := h.profile[d].stagesPassed(ii, base, &sc[d])
					if n == len(h.profile[d].stages) {
						if len(hits) == profileMaxHits {
							h.integrals.Put(iip)
							return []image.Rectangle{image.Rect(0, 0, w, ht)}
						}
						hits = append(hits, image.Rect(x, y, x+ww, y+wh))
					}
					first += min(n, 1)
				}
				// OpenCV's skip: after a window both cascades reject
				// at once, the next one is not tried either.
				if first == 0 {
					fx += step
				}
			}
		}
	}
	h.integrals.Put(iip)
	return groupRects(hits, profileMinNeighbors)
}

// profileScaleStep is the ratio of one window size to the next, and
// profileShift the shift between windows, in pixels at the cascade's
// own size (OpenCV's usual 1.1 and 2).
const (
	profileScaleStep = 1.2
	profileShift     = 2.0
)

// groupRects clusters rectangles as OpenCV's groupRectangles (eps 0.2:
// two boxes are alike when every edge differs by at most 0.2 of their
// mean smaller side) and returns the mean box of each cluster of at least
// minN boxes.
func groupRects(rs []image.Rectangle, minN int) []image.Rectangle {
	parent := make([]int, len(rs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	alike := func(a, b image.Rectangle) bool {
		d := 0.2 * float64(min(a.Dx(), b.Dx())+min(a.Dy(), b.Dy())) * 0.5
		ab := func(v int) float64 { return math.Abs(float64(v)) }
		return ab(a.Min.X-b.Min.X) <= d && ab(a.Min.Y-b.Min.Y) <= d && ab(a.Max.X-b.Max.X) <= d && ab(a.Max.Y-b.Max.Y) <= d
	}
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if alike(rs[i], rs[j]) {
				parent[find(i)] = find(j)
			}
		}
	}
	type acc struct{ x0, y0, x1, y1, n int }
	sums := map[int]*acc{}
	var order []int
	for i, r := range rs {
		p := find(i)
		a := sums[p]
		if a == nil {
			a = &acc{}
			sums[p] = a
			order = append(order, p)
		}
		a.x0, a.y0, a.x1, a.y1, a.n = a.x0+r.Min.X, a.y0+r.Min.Y, a.x1+r.Max.X, a.y1+r.Max.Y, a.n+1
	}
	var out []image.Rectangle
	for _, p := range order {
		a := sums[p]
		if a.n >= minN {
			out = append(out, image.Rect(a.x0/a.n, a.y0/a.n, a.x1/a.n, a.y1/a.n))
		}
	}
	return out
}
