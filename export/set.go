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

// u64map is an open-addressing map from 64-bit hashes to 32-bit values
// (16 bytes a slot, key and value side by side: one cache line per probe;
// load factor at most 3/4): the (class, person) pairs of the gate with the
// first sensitive value each holds.
type u64map struct {
	slots []mapSlot
	n     int
}

type mapSlot struct {
	k uint64
	v uint32
}

func newMap(hint int) *u64map {
	size := 1024
	for size < hint*2 {
		size <<= 1
	}
	return &u64map{slots: make([]mapSlot, size)}
}

// slot returns k's slot and whether k was inserted (with value 0) by this
// call.
func (m *u64map) slot(k uint64) (*mapSlot, bool) {
	if k == 0 {
		k = 1
	}
	if (m.n+1)*4 > len(m.slots)*3 {
		m.grow()
	}
	mask := uint64(len(m.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		switch s.k {
		case 0:
			s.k = k
			m.n++
			return s, true
		case k:
			return s, false
		}
	}
}

func (m *u64map) grow() {
	old := m.slots
	m.slots, m.n = make([]mapSlot, len(old)*2), 0
	for _, o := range old {
		if o.k != 0 {
			s, _ := m.slot(o.k)
			s.v = o.v
		}
	}
}
