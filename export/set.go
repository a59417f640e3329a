package export

// u64set is a compact open-addressing hash set of 64-bit hashes (8 bytes a
// slot, load factor at most 3/4): about 4x smaller than a Go map, which is
// what keeps 10 million rows under 1 GiB.
type u64set struct {
	slots []uint64
	n     int
}

func newSet(hint int) *u64set {
	size := 1024
	for size < hint*2 {
		size <<= 1
	}
	return &u64set{slots: make([]uint64, size)}
}

// add inserts h and reports whether it was new.
func (s *u64set) add(h uint64) bool {
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			return true
		case h:
			return false
		}
	}
}

func (s *u64set) grow() {
	old := s.slots
	s.slots = make([]uint64, len(old)*2)
	s.n = 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}

func (s *u64set) len() int { return s.n }

// u64map is an open-addressing map from 64-bit hashes to 64-bit values
// (16 bytes a slot, load factor at most 3/4), for per-person counters.
type u64map struct {
	keys []uint64
	vals []uint64
	n    int
}

func newMap(hint int) *u64map {
	size := 1024
	for size < hint*2 {
		size <<= 1
	}
	return &u64map{keys: make([]uint64, size), vals: make([]uint64, size)}
}

// slot returns the index of k's slot (inserted with value 0 if absent).
func (m *u64map) slot(k uint64) int {
	if k == 0 {
		k = 1
	}
	if (m.n+1)*4 > len(m.keys)*3 {
		m.grow()
	}
	mask := uint64(len(m.keys) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch m.keys[i] {
		case 0:
			m.keys[i] = k
			m.n++
			return int(i)
		case k:
			return int(i)
		}
	}
}

func (m *u64map) grow() {
	ok, ov := m.keys, m.vals
	m.keys, m.vals, m.n = make([]uint64, len(ok)*2), make([]uint64, len(ok)*2), 0
	for i, k := range ok {
		if k != 0 {
			m.vals[m.slot(k)] = ov[i]
		}
	}
}
