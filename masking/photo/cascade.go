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
// detections, bit for bit (TestCascadeMatchesPigo), for about 30% less
// CPU: for each window size the node offsets are computed once as
// offsets into the pixel slice (pigo recomputes two products and shifts
// per node per window), and a node costs two loads and a comparison
// without a branch.
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

// classify returns the score of the window whose centre is pix[base]
// (pigo's classifyRegion), or -1 when a tree rejects it.
func (c *cascade) classify(pix []uint8, base int, offs []int32) float32 {
	return c.classifyFrom(pix, base, offs, 0, 0)
}

// classifyFrom is classify from tree t on, out being the sum of the
// trees before it.
func (c *cascade) classifyFrom(pix []uint8, base int, offs []int32, t int, out float32) float32 {
	nodes, depth := c.nodes, c.depth
	for ; t < c.trees; t++ {
		o := offs[t*2*nodes : (t+1)*2*nodes]
		idx := 1
		for j := 0; j < depth; j++ {
			a, b := int(pix[base+int(o[2*idx])]), int(pix[base+int(o[2*idx+1])])
			// 2*idx, plus 1 when a <= b (b-a not negative), without a
			// branch: the comparisons are as good as random, and the
			// mispredicted branches were a quarter of the cost.
			idx = 2*idx + 1 - int(uint(b-a)>>(bits.UintSize-1))
		}
		out += c.pred[t*nodes+idx-nodes]
		if out <= c.thr[t] {
			return -1
		}
	}
	return out - c.thr[c.trees-1]
}

// next is the node after idx for the window at pix[base]: 2*idx, plus
// 1 when the node's first pixel is not brighter than its second.
func next(pix []uint8, base int, o []int32, idx int) int {
	a, b := int(pix[base+int(o[2*idx])]), int(pix[base+int(o[2*idx+1])])
	return 2*idx + 1 - int(uint(b-a)>>(bits.UintSize-1))
}

// classify4 is classify for the four windows centred on pix[base],
// pix[base+step], pix[base+2*step] and pix[base+3*step], into q. A tree
// walk is a chain of dependent loads (each node's pixels depend on the
// previous comparison), so one window keeps the core waiting; the four
// walks are interleaved while at least two windows are alive (a dead
// window's walk is wasted, its score stays -1), then the survivor goes
// on alone. Each window's sum is taken in the same order as classify:
// the scores are the same, bit for bit.
func (c *cascade) classify4(pix []uint8, base, step int, offs []int32, q *[4]float32) {
	nodes, depth := c.nodes, c.depth
	b0, b1, b2, b3 := base, base+step, base+2*step, base+3*step
	var s0, s1, s2, s3 float32
	alive := [4]bool{true, true, true, true}
	n := 4
	t := 0
	for ; t < c.trees && n >= 2; t++ {
		o := offs[t*2*nodes : (t+1)*2*nodes]
		i0, i1, i2, i3 := 1, 1, 1, 1
		for j := 0; j < depth; j++ {
			i0 = next(pix, b0, o, i0)
			i1 = next(pix, b1, o, i1)
			i2 = next(pix, b2, o, i2)
			i3 = next(pix, b3, o, i3)
		}
		pred, thr := c.pred[t*nodes:(t+1)*nodes], c.thr[t]
		s0 += pred[i0-nodes]
		s1 += pred[i1-nodes]
		s2 += pred[i2-nodes]
		s3 += pred[i3-nodes]
		for k, s := range [4]float32{s0, s1, s2, s3} {
			if alive[k] && s <= thr {
				alive[k] = false
				n--
			}
		}
	}
	for k, s := range [4]float32{s0, s1, s2, s3} {
		switch {
		case !alive[k]:
			q[k] = -1
		case t == c.trees:
			q[k] = s - c.thr[c.trees-1]
		default:
			q[k] = c.classifyFrom(pix, base+k*step, offs, t, s)
		}
	}
}

// run returns the windows of sizes minSize to maxSize that the cascade
// accepts, with the window sizes, positions and scores pigo's RunCascade
// gives for the same parameters (angle 0). offs is scratch space, returned
// for reuse.
func (c *cascade) run(p pigo.CascadeParams, offs []int32) ([]pigo.Detection, []int32) {
	var dets []pigo.Detection
	pix, dim := p.Pixels, p.Dim
	for scale := p.MinSize; scale <= p.MaxSize; {
		step := int(math.Max(p.ShiftFactor*float64(scale), 1))
		offset := scale/2 + 1
		offs = c.offsets(offs, scale, dim)
		for row := offset; row <= p.Rows-offset; row += step {
			col := offset
			var q4 [4]float32
			for ; col+3*step <= p.Cols-offset; col += 4 * step {
				c.classify4(pix, row*dim+col, step, offs, &q4)
				for k, q := range q4 {
					if q > 0 {
						dets = append(dets, pigo.Detection{Row: row, Col: col + k*step, Scale: scale, Q: q})
					}
				}
			}
			for ; col <= p.Cols-offset; col += step {
				if q := c.classify(pix, row*dim+col, offs); q > 0 {
					dets = append(dets, pigo.Detection{Row: row, Col: col, Scale: scale, Q: q})
				}
			}
		}
		scale = int(float64(scale) + math.Max(2, float64(scale)*p.ScaleFactor-float64(scale)))
	}
	return dets, offs
}
