package indicators

// cellStore holds the cells in chunks of a fixed size: growing never
// copies the cells already there (millions of them).
type cellStore struct {
	chunks [][]cell
	n      int
}

const cellChunk = 1 << 16

func (s *cellStore) len() int { return s.n }

func (s *cellStore) at(i int32) *cell { return &s.chunks[i/cellChunk][i%cellChunk] }

// add appends c and returns its index.
func (s *cellStore) add(c cell) int32 {
	if s.n%cellChunk == 0 {
		s.chunks = append(s.chunks, make([]cell, 0, cellChunk))
	}
	k := len(s.chunks) - 1
	s.chunks[k] = append(s.chunks[k], c)
	s.n++
	return int32(s.n - 1)
}

// personIndex maps the persons' 64-bit hashes to their index: open
// addressing with linear probing, one lookup-or-insert per probe sequence
// (a Go map takes a lookup then an insert), load factor at most 1/2.
type personIndex struct {
	keys []uint64 // 0: empty (a hash of 0 is stored as 1)
	vals []int32
	n    int
}

func newPersonIndex() *personIndex {
	return &personIndex{keys: make([]uint64, 1<<16), vals: make([]int32, 1<<16)}
}

func (m *personIndex) len() int { return m.n }

// get returns h's index, or inserts h with index next() and returns it.
func (m *personIndex) get(h uint64, next func() (int32, error)) (int32, error) {
	if h == 0 {
		h = 1
	}
	if 2*(m.n+1) > len(m.keys) {
		m.grow()
	}
	mask := uint64(len(m.keys) - 1)
	for i := (h * 0x9e3779b97f4a7c15) >> 32 & mask; ; i = (i + 1) & mask {
		switch m.keys[i] {
		case h:
			return m.vals[i], nil
		case 0:
			v, err := next()
			if err != nil {
				return 0, err
			}
			m.keys[i], m.vals[i] = h, v
			m.n++
			return v, nil
		}
	}
}

func (m *personIndex) grow() {
	keys, vals := m.keys, m.vals
	m.keys, m.vals = make([]uint64, 2*len(keys)), make([]int32, 2*len(keys))
	mask := uint64(len(m.keys) - 1)
	for j, h := range keys {
		if h == 0 {
			continue
		}
		i := (h * 0x9e3779b97f4a7c15) >> 32 & mask
		for m.keys[i] != 0 {
			i = (i + 1) & mask
		}
		m.keys[i], m.vals[i] = h, vals[j]
	}
}

// wordCache is a direct-mapped cache of word -> id in front of a map:
// the few distinct words of a column (codes, group keys) hit it.
type wordCache struct {
	keys [1024]uint64
	vals [1024]int32
	set  [1024]bool
	m    map[uint64]int32
}

func (c *wordCache) slot(w uint64) int { return int((w * 0x9e3779b97f4a7c15) >> 54) }

func (c *wordCache) get(w uint64) (int32, bool) {
	if i := c.slot(w); c.set[i] && c.keys[i] == w {
		return c.vals[i], true
	}
	v, ok := c.m[w]
	if ok {
		c.put(w, v)
	}
	return v, ok
}

func (c *wordCache) put(w uint64, v int32) {
	if c.m == nil {
		c.m = map[uint64]int32{}
	}
	c.m[w] = v
	i := c.slot(w)
	c.keys[i], c.vals[i], c.set[i] = w, v, true
}
