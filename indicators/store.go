package indicators

// chunks holds values in chunks of a fixed size: growing never copies
// (nor first-touches twice) the values already there (millions of them),
// and a value's address is stable.
type chunks[T any] struct {
	chunks [][]T
	n      int
}

const chunkLen = 1 << 16

func (s *chunks[T]) len() int { return s.n }

func (s *chunks[T]) at(i int32) *T { return &s.chunks[uint32(i)/chunkLen][uint32(i)%chunkLen] }

// add appends v and returns its index.
func (s *chunks[T]) add(v T) int32 {
	if s.n%chunkLen == 0 {
		s.chunks = append(s.chunks, make([]T, 0, chunkLen))
	}
	k := len(s.chunks) - 1
	s.chunks[k] = append(s.chunks[k], v)
	s.n++
	return int32(s.n - 1)
}

// personIndex maps the persons' 64-bit hashes to their index: open
// addressing with linear probing, one lookup-or-insert per probe sequence
// (a Go map takes a lookup then an insert), load factor at most 1/2. A
// hash and its index share a slot, so that a lookup in a table of
// millions of persons misses the cache once, not twice. A hash's home
// slot is its top bits, so that the slots stay in the order of their
// hashes: growing walks the old table and fills the new one front to
// back (streaming, not one cache miss per person).
type personIndex struct {
	slots []personSlot
	shift uint // 64 - log2(len(slots))
	n     int
}

type personSlot struct {
	key uint64 // 0: empty (a hash of 0 is stored as 1)
	val int32
}

const personIndexBits = 16

func newPersonIndex() *personIndex {
	return &personIndex{slots: make([]personSlot, 1<<personIndexBits), shift: 64 - personIndexBits}
}

func (m *personIndex) len() int { return m.n }

func (m *personIndex) home(h uint64) uint64 { return h >> m.shift }

// touch loads h's home slot and returns its key: a loop of independent
// touches brings a batch's slots into the cache with their misses
// overlapped, before the lookups that depend on each other run.
func (m *personIndex) touch(h uint64) uint64 { return m.slots[m.home(h)].key }

// get returns h's index, or inserts h with index next() and returns it.
func (m *personIndex) get(h uint64, next func() (int32, error)) (int32, error) {
	if h == 0 {
		h = 1
	}
	if 2*(m.n+1) > len(m.slots) {
		m.grow()
	}
	mask := uint64(len(m.slots) - 1)
	for i := m.home(h); ; i = (i + 1) & mask {
		sl := &m.slots[i]
		switch sl.key {
		case h:
			return sl.val, nil
		case 0:
			v, err := next()
			if err != nil {
				return 0, err
			}
			sl.key, sl.val = h, v
			m.n++
			return v, nil
		}
	}
}

func (m *personIndex) grow() {
	old := m.slots
	m.slots = make([]personSlot, 2*len(old))
	m.shift--
	mask := uint64(len(m.slots) - 1)
	for _, sl := range old {
		if sl.key == 0 {
			continue
		}
		i := m.home(sl.key)
		for m.slots[i].key != 0 {
			i = (i + 1) & mask
		}
		m.slots[i] = sl
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
