package dcm

// Which frames of a multi-frame photograph (an XC video) the face and
// code pass searches: as for burned-in text, not every frame. Searched
// are the first, middle and last frames and every frame whose content
// differs from the last frame searched in some cell of the image: a face
// or a wristband that comes into view, moves or leaves changes the cells
// it covers, so the frame that shows it is searched; a still scene is
// searched once. What is found in any frame is filled on every frame.

// changeMean is the mean absolute difference of the 8-bit grey values of
// one cell (cellSize pixels square) above which a frame's content differs
// from the last frame searched: well above sensor and compression noise
// (a few levels), well below what a face or a code coming into a cell
// changes (tens of levels).
const changeMean = 10

// frameSampler chooses the frames to search, in order.
type frameSampler struct {
	g      *cellGrid
	frames int
	ref    []byte // grey image of the last frame searched
	sums   []int
}

func newFrameSampler(cols, rows, frames int) *frameSampler {
	g := newCellGrid(cols, rows)
	return &frameSampler{g: g, frames: frames, sums: make([]int, len(g.cells))}
}

// search reports whether frame f, of grey image gray (cols x rows), is to
// be searched; frames are given in order. A searched frame becomes the
// reference the next ones are compared with.
func (s *frameSampler) search(f int, gray []byte) bool {
	if f == 0 || f == s.frames/2 || f == s.frames-1 || s.ref == nil || s.differs(gray) {
		s.ref = gray
		return true
	}
	return false
}

// differs reports whether, in some cell, gray differs from the reference
// by a mean absolute difference above changeMean.
func (s *frameSampler) differs(gray []byte) bool {
	g := s.g
	clear(s.sums)
	for y := 0; y < g.h; y++ {
		row, ref := gray[y*g.w:(y+1)*g.w], s.ref[y*g.w:(y+1)*g.w]
		cells := s.sums[(y/cellSize)*g.cw:]
		for x, v := range row {
			d := int(v) - int(ref[x])
			cells[x/cellSize] += max(d, -d)
		}
	}
	for i, c := range g.cells {
		if s.sums[i] > changeMean*c.Dx()*c.Dy() {
			return true
		}
	}
	return false
}
