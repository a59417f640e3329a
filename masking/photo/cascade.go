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

// offsets fills offs (2 per node, nodes*2 per tree) with the pixel-slice
// offsets of every node's two pixels for windows of size s in an image
// of row stride dim. pigo reads pixel ((r*256+code*s)>>8)*dim +
// ((c*256+code'*s)>>8) for a window centred on (r, c); as r*256 is a
// multiple of 256, that is r*dim + c + ((code*s)>>8)*dim + ((code'*s)>>8)
// exactly (>> floors, for negative codes too).
func (c *cascade) offsets(offs []int32, s, dim int) []int32 {
	offs = offs[:0]
	for i := 0; i < len(c.codes); i += 4 {
		r1, c1 := (int(c.codes[i])*s)>>8, (int(c.codes[i+1])*s)>>8
		r2, c2 := (int(c.codes[i+2])*s)>>8, (int(c.codes[i+3])*s)>>8
		offs = append(offs, int32(r1*dim+c1), int32(r2*dim+c2))
	}
	return offs
}

// next is the node after idx for the window at pix[base]: 2*idx, plus
// 1 when the node's first pixel is not brighter than its second.
func next(pix []uint8, base int, o []int32, idx int) int {
	a, b := int(pix[base+int(o[2*idx])]), int(pix[base+int(o[2*idx+1])])
	return 2*idx + 1 - int(uint(b-a)>>(bits.UintSize-1))
}

// lane is a window of a row being classified by scanRow: its index in
// the row (-1: the lane is idle), its centre in pix, the next tree and
// the sum of the trees before it.
type lane struct {
	i, base, t int
	s          float32
}

// scanRow puts into q[0:n] the scores of the n windows centred on
// pix[base0], pix[base0+step], ... (pigo's classifyRegion: the sum of
// the trees' predictions less the last threshold, or -1 when the sum
// after a tree is at most its threshold). A tree walk is a chain of dependent
// loads (each node's pixels depend on the previous comparison), so one
// window at a time keeps the core waiting: four windows are walked in
// step, each at its own tree, and a lane whose window is rejected or
// accepted takes the next window of the row (an idle lane walks the
// first window's first tree for nothing). Each window's sum is taken
// tree after tree as pigo does: the scores are the same, bit for bit
// (TestCascadeMatchesPigo).
func (c *cascade) scanRow(pix []uint8, base0, step, n int, offs []int32, q []float32) {
	nodes, depth, trees := c.nodes, c.depth, c.trees
	q = q[:n]
	var ln [4]lane
	nxt, active := 0, 0
	for k := range ln {
		ln[k] = lane{i: -1, base: base0}
		if nxt < n {
			ln[k] = lane{i: nxt, base: base0 + nxt*step}
			nxt++
			active++
		}
	}
	span := 2 * nodes
	for active > 0 {
		o0, o1 := offs[ln[0].t*span:][:span], offs[ln[1].t*span:][:span]
		o2, o3 := offs[ln[2].t*span:][:span], offs[ln[3].t*span:][:span]
		b0, b1, b2, b3 := ln[0].base, ln[1].base, ln[2].base, ln[3].base
		i0, i1, i2, i3 := 1, 1, 1, 1
		for j := 0; j < depth; j++ {
			i0 = next(pix, b0, o0, i0)
			i1 = next(pix, b1, o1, i1)
			i2 = next(pix, b2, o2, i2)
			i3 = next(pix, b3, o3, i3)
		}
		for k, idx := range [4]int{i0, i1, i2, i3} {
			l := &ln[k]
			if l.i < 0 {
				continue
			}
			l.s += c.pred[l.t*nodes+idx-nodes]
			switch {
			case l.s <= c.thr[l.t]:
				q[l.i] = -1
			case l.t+1 == trees:
				q[l.i] = l.s - c.thr[trees-1]
			default:
				l.t++
				continue
			}
			if nxt < n {
				*l = lane{i: nxt, base: base0 + nxt*step}
				nxt++
			} else {
				*l = lane{i: -1, base: base0}
				active--
			}
		}
	}
}

// run returns the windows of sizes minSize to maxSize that the cascade
// accepts, with the window sizes, positions and scores pigo's RunCascade
// gives for the same parameters (angle 0). offs is scratch space, returned
// for reuse.
func (c *cascade) run(p pigo.CascadeParams, offs []int32) ([]pigo.Detection, []int32) {
	var dets []pigo.Detection
	var q []float32 // a row's scores
	pix, dim := p.Pixels, p.Dim
	for scale := p.MinSize; scale <= p.MaxSize; {
		step := int(math.Max(p.ShiftFactor*float64(scale), 1))
		offset := scale/2 + 1
		offs = c.offsets(offs, scale, dim)
		n := 0 // windows per row
		if p.Cols-offset >= offset {
			n = (p.Cols-2*offset)/step + 1
		}
		if cap(q) < n {
			q = make([]float32, n)
		}
		for row := offset; row <= p.Rows-offset; row += step {
			c.scanRow(pix, row*dim+offset, step, n, offs, q)
			for i, v := range q[:n] {
				if v > 0 {
					dets = append(dets, pigo.Detection{Row: row, Col: offset + i*step, Scale: scale, Q: v})
				}
			}
		}
		scale = int(float64(scale) + math.Max(2, float64(scale)*p.ScaleFactor-float64(scale)))
	}
	return dets, offs
}
