package photo

import (
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
)

// lbpCascade is an OpenCV boosted cascade of multi-block LBP stumps (the
// format of opencv-data's lbpcascades/*.xml, here the profile-face
// cascade, cascade/lbpcascade_profileface.xml, BSD-3-Clause,
// cascade/LICENSE-opencv-data). A feature is a 3x3 grid of equal cells
// inside the w x h window; its code has one bit per outer cell (its sum
// at least the centre cell's); a stump adds one of two leaf values as
// the code is or is not in its 256-bit subset; a window passes a stage
// when the stage's sum reaches its threshold, and is a face when it
// passes them all.
type lbpCascade struct {
	w, h   int
	feats  []lbpRect
	stages []lbpStage
}

// lbpRect is a feature's top-left cell, in pixels of the window.
type lbpRect struct{ x, y, w, h int }

type lbpStage struct {
	thr  float32
	weak []lbpStump
}

type lbpStump struct {
	feat   int
	subset [8]uint32  // bit c set: code c takes the left leaf
	leaf   [2]float32 // the right leaf, the left leaf (by the code's bit)
}

// Bounds of a cascade file: well above opencv-data's cascades (16 stages
// of at most 100 stumps, 20x34 windows, a few hundred features), low
// enough that a damaged file cannot make New allocate much.
const (
	lbpMaxBytes    = 4 << 20
	lbpMaxStages   = 64
	lbpMaxStumps   = 4096 // over all stages
	lbpMaxFeatures = 4096
	lbpMaxWindow   = 128
)

var errLBP = errors.New("photo: LBP cascade is damaged or not a stump cascade of LBP features")

// lbpXML is the part of an OpenCV cascade file that the evaluator reads.
type lbpXML struct {
	Cascade struct {
		StageType   string `xml:"stageType"`
		FeatureType string `xml:"featureType"`
		Height      int    `xml:"height"`
		Width       int    `xml:"width"`
		MaxDepth    int    `xml:"stageParams>maxDepth"`
		MaxCat      int    `xml:"featureParams>maxCatCount"`
		Stages      []struct {
			Threshold string `xml:"stageThreshold"`
			Weak      []struct {
				Nodes  string `xml:"internalNodes"`
				Leaves string `xml:"leafValues"`
			} `xml:"weakClassifiers>_"`
		} `xml:"stages>_"`
		Features []struct {
			Rect string `xml:"rect"`
		} `xml:"features>_"`
	} `xml:"cascade"`
}

// parseLBP reads an OpenCV LBP cascade (XML, new format). Anything but a
// BOOST cascade of LBP stumps with 256 categories, or a cascade beyond
// the bounds above, or a feature outside the window, is an error.
func parseLBP(b []byte) (*lbpCascade, error) {
	if len(b) > lbpMaxBytes {
		return nil, errLBP
	}
	var x lbpXML
	if err := xml.Unmarshal(b, &x); err != nil {
		return nil, errLBP
	}
	c := x.Cascade
	if c.StageType != "BOOST" || c.FeatureType != "LBP" || c.MaxDepth != 1 || c.MaxCat != 256 ||
		c.Width < 3 || c.Height < 3 || c.Width > lbpMaxWindow || c.Height > lbpMaxWindow ||
		len(c.Stages) == 0 || len(c.Stages) > lbpMaxStages || len(c.Features) == 0 || len(c.Features) > lbpMaxFeatures {
		return nil, errLBP
	}
	out := &lbpCascade{w: c.Width, h: c.Height}
	for _, f := range c.Features {
		v, ok := ints(f.Rect, 4)
		if !ok {
			return nil, errLBP
		}
		r := lbpRect{int(v[0]), int(v[1]), int(v[2]), int(v[3])}
		if r.x < 0 || r.y < 0 || r.w < 1 || r.h < 1 || r.x+3*r.w > c.Width || r.y+3*r.h > c.Height {
			return nil, errLBP
		}
		out.feats = append(out.feats, r)
	}
	n := 0
	for _, s := range c.Stages {
		thr, err := strconv.ParseFloat(strings.TrimSpace(s.Threshold), 32)
		n += len(s.Weak)
		if err != nil || len(s.Weak) == 0 || n > lbpMaxStumps {
			return nil, errLBP
		}
		// OpenCV lowers every stage threshold by 1e-5 (THRESHOLD_EPS).
		st := lbpStage{thr: float32(thr) - 1e-5}
		for _, w := range s.Weak {
			// left, right (0 -1: a stump), feature, 8 subset words.
			v, ok := ints(w.Nodes, 11)
			leaves, ok2 := floats(w.Leaves, 2)
			if !ok || !ok2 || v[0] != 0 || v[1] != -1 || v[2] < 0 || int(v[2]) >= len(out.feats) {
				return nil, errLBP
			}
			sw := lbpStump{feat: int(v[2]), leaf: [2]float32{leaves[1], leaves[0]}}
			for i := range sw.subset {
				sw.subset[i] = uint32(int32(v[3+i]))
			}
			st.weak = append(st.weak, sw)
		}
		out.stages = append(out.stages, st)
	}
	return out, nil
}

// ints parses exactly n space-separated 32-bit integers.
func ints(s string, n int) ([]int64, bool) {
	return fields(s, n, func(t string) (int64, bool) {
		x, err := strconv.ParseInt(t, 10, 32)
		return x, err == nil
	})
}

// floats parses exactly n space-separated finite numbers.
func floats(s string, n int) ([]float32, bool) {
	return fields(s, n, func(t string) (float32, bool) {
		x, err := strconv.ParseFloat(t, 32)
		return float32(x), err == nil && x == x && x <= 1e30 && x >= -1e30
	})
}

// fields parses exactly n space-separated values with parse.
func fields[T any](s string, n int, parse func(string) (T, bool)) ([]T, bool) {
	f := strings.Fields(s)
	if len(f) != n {
		return nil, false
	}
	v := make([]T, n)
	for i, t := range f {
		x, ok := parse(t)
		if !ok {
			return nil, false
		}
		v[i] = x
	}
	return v, true
}

// mirrored returns the cascade that finds in an image what c finds in the
// image mirrored left to right: each feature's grid is mirrored in the
// window, and each code's left and right bits are swapped in the subsets
// (top-left 128 with top-right 32, left 1 with right 16, bottom-left 2
// with bottom-right 8; top 64 and bottom 4 stay).
func (c *lbpCascade) mirrored() *lbpCascade {
	m := &lbpCascade{w: c.w, h: c.h}
	for _, r := range c.feats {
		m.feats = append(m.feats, lbpRect{c.w - r.x - 3*r.w, r.y, r.w, r.h})
	}
	for _, s := range c.stages {
		ms := lbpStage{thr: s.thr}
		for _, w := range s.weak {
			mw := w
			mw.subset = [8]uint32{}
			for code := 0; code < 256; code++ {
				if w.subset[code>>5]&(1<<(code&31)) != 0 {
					mc := mirrorCode(code)
					mw.subset[mc>>5] |= 1 << (mc & 31)
				}
			}
			ms.weak = append(ms.weak, mw)
		}
		m.stages = append(m.stages, ms)
	}
	return m
}

func mirrorCode(c int) int {
	swap := func(c, a, b int) int {
		if (c&a != 0) != (c&b != 0) {
			c ^= a | b
		}
		return c
	}
	return swap(swap(swap(c, 128, 32), 1, 16), 2, 8)
}

// lbpScaled is a cascade's features at one window scale, in an integral
// image of a given stride: per feature, the offset of its top-left grid
// point, the cell width and the cell height times the stride (the 16
// grid points, corners of the 3x3 cells, are o + i*cw + j*ch).
type lbpScaled struct {
	feats []lbpGrid
	w, h  int // the window's extent: every grid point is inside it
}

type lbpGrid struct{ o, cw, ch int }

// scale fills s for windows k times the cascade's size (cells rounded to
// whole pixels, at least 1) in an integral image of row stride stride.
func (c *lbpCascade) scale(s *lbpScaled, k float64, stride int) {
	s.feats = s.feats[:0]
	s.w, s.h = int(float64(c.w)*k+0.5), int(float64(c.h)*k+0.5)
	for _, r := range c.feats {
		x, y := int(float64(r.x)*k+0.5), int(float64(r.y)*k+0.5)
		w, h := max(1, int(float64(r.w)*k+0.5)), max(1, int(float64(r.h)*k+0.5))
		s.w, s.h = max(s.w, x+3*w), max(s.h, y+3*h)
		s.feats = append(s.feats, lbpGrid{y*stride + x, w, h * stride})
	}
}

// stagesPassed returns how many stages pass the window at ii[base] (all
// of them: a face). A stump's code is OpenCV's
// LBPEvaluator::Feature::calc: bit 128 the top-left cell, then
// clockwise, set when the cell's sum is at least the centre's.
func (c *lbpCascade) stagesPassed(ii []uint32, base int, s *lbpScaled) int {
	for n, st := range c.stages {
		var sum float32
		for i := range st.weak {
			w := &st.weak[i]
			f := s.feats[w.feat]
			o0 := base + f.o
			o1, cw := o0+f.ch, f.cw
			o2 := o1 + f.ch
			o3 := o2 + f.ch
			p0, p1, p2, p3 := ii[o0], ii[o0+cw], ii[o0+2*cw], ii[o0+3*cw]
			p4, p5, p6, p7 := ii[o1], ii[o1+cw], ii[o1+2*cw], ii[o1+3*cw]
			p8, p9, p10, p11 := ii[o2], ii[o2+cw], ii[o2+2*cw], ii[o2+3*cw]
			p12, p13, p14, p15 := ii[o3], ii[o3+cw], ii[o3+2*cw], ii[o3+3*cw]
			cv := p5 - p6 - p9 + p10
			v := b2i(p0-p1-p4+p5 >= cv) << 7
			v |= b2i(p1-p2-p5+p6 >= cv) << 6
			v |= b2i(p2-p3-p6+p7 >= cv) << 5
			v |= b2i(p6-p7-p10+p11 >= cv) << 4
			v |= b2i(p10-p11-p14+p15 >= cv) << 3
			v |= b2i(p9-p10-p13+p14 >= cv) << 2
			v |= b2i(p8-p9-p12+p13 >= cv) << 1
			v |= b2i(p4-p5-p8+p9 >= cv)
			// The leaf without a branch: codes take either leaf
			// about as often.
			sum += w.leaf[w.subset[v>>5]>>(v&31)&1]
		}
		if sum < st.thr {
			return n
		}
	}
	return len(c.stages)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// accepts reports whether every stage passes the window at ii[base].
func (c *lbpCascade) accepts(ii []uint32, base int, s *lbpScaled) bool {
	return c.stagesPassed(ii, base, s) == len(c.stages)
}

// integral returns the (w+1) x (h+1) integral image of the w x h grey g
// (ii[y*(w+1)+x]: the sum of g above and left of (x, y)). Sums wrap
// modulo 2^32, and so do their differences: a cell's sum is exact while
// it is below 2^32 (any cell of a photo under 16 M pixels).
func integral(ii []uint32, g []uint8, w, h int) []uint32 {
	st := w + 1
	n := st * (h + 1)
	if cap(ii) < n {
		ii = make([]uint32, n)
	}
	ii = ii[:n]
	clear(ii[:st])
	for y := 0; y < h; y++ {
		row := g[y*w : y*w+w]
		up, cur := ii[y*st:y*st+st], ii[(y+1)*st:(y+1)*st+st]
		var s uint32
		cur[0] = 0
		for x, v := range row {
			s += uint32(v)
			cur[x+1] = up[x+1] + s
		}
	}
	return ii
}
