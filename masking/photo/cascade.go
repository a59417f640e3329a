package photo

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"

	pigo "github.com/esimov/pigo/core"
)

// cascade is pigo's face-finder cascade (the file pigo.Unpack reads: a
// sequence of binary decision trees, each node comparing two pixels at
// offsets relative to the window, scaled by the window size), run by
// faces instead of pigo's RunCascade. The result is the same
// detections, bit for bit (TestCascadeMatchesPigo), for about half the
// CPU: for each window size the node offsets are computed once as
// offsets into the pixel slice (pigo recomputes two products and shifts
// per node per window), a node costs two loads and a comparison
// without a branch, and four windows are walked at once (scanRow).
type cascade struct {
	depth, trees int
	nodes        int       // 1 << depth: per tree, nodes 1..nodes-1 and nodes leaves
	codes        []int8    // 4 per node (row1, col1, row2, col2), nodes*4 per tree (node 0 unused)
	pred         []float32 // nodes leaves per tree
	thr          []float32 // the score threshold after each tree
}

var errCascade = errors.New("photo: face cascade is damaged")

// parseCascade reads the cascade file pigo.Unpack reads: 8 bytes skipped,
// the tree depth and the number of trees (uint32, little-endian), then per
// tree 4*(2^depth - 1) signed node codes, 2^depth float32 leaf
// predictions and a float32 threshold.
func parseCascade(b []byte) (*cascade, error) {
	if len(b) < 16 {
		return nil, errCascade
	}
	depth := int(binary.LittleEndian.Uint32(b[8:]))
	trees := int(binary.LittleEndian.Uint32(b[12:]))
	if depth < 1 || depth > 16 || trees < 1 || trees > 1<<16 {
		return nil, errCascade
	}
	nodes := 1 << depth
	c := &cascade{depth: depth, trees: trees, nodes: nodes,
		codes: make([]int8, 0, trees*nodes*4), pred: make([]float32, 0, trees*nodes), thr: make([]float32, 0, trees)}
	pos := 16
	per := 4*(nodes-1) + 4*nodes + 4
	if (len(b)-pos)/per < trees {
		return nil, errCascade
	}
	for t := 0; t < trees; t++ {
		c.codes = append(c.codes, 0, 0, 0, 0)
		for _, v := range b[pos : pos+4*(nodes-1)] {
			c.codes = append(c.codes, int8(v))
		}
		pos += 4 * (nodes - 1)
		for i := 0; i < nodes; i++ {
			c.pred = append(c.pred, math.Float32frombits(binary.LittleEndian.Uint32(b[pos:])))
			pos += 4
		}
		c.thr = append(c.thr, math.Float32frombits(binary.LittleEndian.Uint32(b[pos:])))
		pos += 4
	}
	return c, nil
}

// cascadeScale holds the pixel-slice offsets of every node's two pixels
// (2 per node, nodes*2 per tree) for windows of size s in an image of row
// stride dim, filled tree by tree as the scan first reaches a tree: on
// most photos few windows get past the first trees, and the offsets of
// all the trees (60,000 per window size) cost more than the scan of the
// large windows. pigo reads pixel ((r*256+code*s)>>8)*dim +
// ((c*256+code'*s)>>8) for a window centred on (r, c); as r*256 is a
// multiple of 256, that is r*dim + c + ((code*s)>>8)*dim + ((code'*s)>>8)
// exactly (>> floors, for negative codes too).
type cascadeScale struct {
	offs   []int32 // the trees before ready
	ready  int
	s, dim int
}

// reset starts the offsets of windows of size s in an image of stride dim.
func (cs *cascadeScale) reset(s, dim int) {
	cs.offs, cs.ready, cs.s, cs.dim = cs.offs[:0], 0, s, dim
}

// tree returns the offsets of tree t's nodes (filling them up to t).
func (c *cascade) tree(cs *cascadeScale, t int) []int32 {
	span := 2 * c.nodes
	for ; cs.ready <= t; cs.ready++ {
		codes := c.codes[cs.ready*4*c.nodes:][:4*c.nodes]
		for i := 0; i < len(codes); i += 4 {
			r1, c1 := (int(codes[i])*cs.s)>>8, (int(codes[i+1])*cs.s)>>8
			r2, c2 := (int(codes[i+2])*cs.s)>>8, (int(codes[i+3])*cs.s)>>8
			cs.offs = append(cs.offs, int32(r1*cs.dim+c1), int32(r2*cs.dim+c2))
		}
	}
	return cs.offs[t*span:][:span]
}

// next is the node after idx for the window at pix[base]: 2*idx, plus
// 1 when the node's first pixel is not brighter than its second.
func next(pix []uint8, base int, o []int32, idx int) int {
	a, b := int(pix[base+int(o[2*idx])]), int(pix[base+int(o[2*idx+1])])
	return 2*idx + 1 - int(uint(b-a)>>(bits.UintSize-1))
}

// scanRow classifies the n windows centred on pix[base0],
// pix[base0+step], ... (pigo's classifyRegion: the sum of the trees'
// predictions, a window rejected as soon as the sum after a tree is at
// most its threshold; its score the sum less the last threshold) and
// leaves in w the windows every tree accepts, in row order, with their
// scores. The row is walked tree after tree rather than window after
// window: every window of the row through the first tree, the windows
// it keeps through the second, and so on. A tree walk is a chain of
// dependent loads (each node's pixels depend on the previous
// comparison), but the windows of one tree are independent of each
// other, so the core overlaps the walks of many windows, and whether a
// window goes on is a count (kept += its sum is above the threshold),
// not a branch it mispredicts about once in two windows. Each window's
// sum is taken tree after tree as pigo does: the scores are the same,
// bit for bit (TestCascadeMatchesPigo).
func (c *cascade) scanRow(pix []uint8, base0, step, n int, cs *cascadeScale, w *cascadeRow) {
	nodes, depth := c.nodes, c.depth
	w.grow(n)
	live := n
	for t := 0; t < c.trees && live > 0; t++ {
		o := c.tree(cs, t)
		pred := c.pred[t*nodes:][:nodes]
		thr := c.thr[t]
		idx, sum := w.idx[:live], w.sum[:live]
		kept, k := 0, 0
		// Four windows walked in step (four independent chains of
		// loads), then the rest one by one. The first tree takes every
		// window of the row (index k, sum 0).
		for ; k+4 <= live; k += 4 {
			i0, i1, i2, i3 := int32(k), int32(k+1), int32(k+2), int32(k+3)
			var s0, s1, s2, s3 float32
			if t > 0 {
				i0, i1, i2, i3 = idx[k], idx[k+1], idx[k+2], idx[k+3]
				s0, s1, s2, s3 = sum[k], sum[k+1], sum[k+2], sum[k+3]
			}
			b0, b1 := base0+int(i0)*step, base0+int(i1)*step
			b2, b3 := base0+int(i2)*step, base0+int(i3)*step
			x0, x1, x2, x3 := 1, 1, 1, 1
			for j := 0; j < depth; j++ {
				x0 = next(pix, b0, o, x0)
				x1 = next(pix, b1, o, x1)
				x2 = next(pix, b2, o, x2)
				x3 = next(pix, b3, o, x3)
			}
			v0, v1 := s0+pred[x0-nodes], s1+pred[x1-nodes]
			v2, v3 := s2+pred[x2-nodes], s3+pred[x3-nodes]
			// kept <= k: a window is written over one already read.
			idx[kept], sum[kept] = i0, v0
			kept += cascadeKeeps(v0, thr)
			idx[kept], sum[kept] = i1, v1
			kept += cascadeKeeps(v1, thr)
			idx[kept], sum[kept] = i2, v2
			kept += cascadeKeeps(v2, thr)
			idx[kept], sum[kept] = i3, v3
			kept += cascadeKeeps(v3, thr)
		}
		for ; k < live; k++ {
			i, s := int32(k), float32(0)
			if t > 0 {
				i, s = idx[k], sum[k]
			}
			base := base0 + int(i)*step
			x := 1
			for j := 0; j < depth; j++ {
				x = next(pix, base, o, x)
			}
			v := s + pred[x-nodes]
			idx[kept], sum[kept] = i, v
			kept += cascadeKeeps(v, thr)
		}
		live = kept
	}
	w.idx, w.sum = w.idx[:live], w.sum[:live]
	for k := range w.sum {
		w.sum[k] -= c.thr[c.trees-1]
	}
}

// cascadeKeeps is 1 when a window's sum v is above the tree's threshold
// (it goes on), else 0 (compiled without a branch).
func cascadeKeeps(v, thr float32) int {
	if v > thr {
		return 1
	}
	return 0
}

// cascadeRow is the windows of a row still in the cascade (their index in
// the row) and their sums, reused from row to row.
type cascadeRow struct {
	idx []int32
	sum []float32
}

// grow makes room for n windows.
func (w *cascadeRow) grow(n int) {
	if cap(w.idx) < n {
		w.idx, w.sum = make([]int32, n), make([]float32, n)
	}
	w.idx, w.sum = w.idx[:n], w.sum[:n]
}

// run returns the windows of sizes minSize to maxSize that the cascade
// accepts, with the window sizes, positions and scores pigo's RunCascade
// gives for the same parameters (angle 0). offs is scratch space, returned
// for reuse.
func (c *cascade) run(p pigo.CascadeParams, offs []int32) ([]pigo.Detection, []int32) {
	var dets []pigo.Detection
	var w cascadeRow
	cs := cascadeScale{offs: offs}
	pix, dim := p.Pixels, p.Dim
	for scale := p.MinSize; scale <= p.MaxSize; {
		step := int(math.Max(p.ShiftFactor*float64(scale), 1))
		offset := scale/2 + 1
		cs.reset(scale, dim)
		n := 0 // windows per row
		if p.Cols-offset >= offset {
			n = (p.Cols-2*offset)/step + 1
		}
		for row := offset; row <= p.Rows-offset; row += step {
			c.scanRow(pix, row*dim+offset, step, n, &cs, &w)
			for k, i := range w.idx {
				dets = append(dets, pigo.Detection{Row: row, Col: offset + int(i)*step, Scale: scale, Q: w.sum[k]})
			}
		}
		scale = int(float64(scale) + math.Max(2, float64(scale)*p.ScaleFactor-float64(scale)))
	}
	return dets, cs.offs
}
