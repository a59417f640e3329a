package masking

import (
	"hash/maphash"
	"slices"
	"sync"
	"unsafe"
)

// personCache keeps what is derived from a person's identifiers (the
// scrubber's folded words, the residual scan's needles) for the last
// persons seen: an ingest handles many values and files of one person in a
// row (a record's columns, a CT series), and deriving them costs more than
// using them. Entries are found by a hash of the person's values and
// compared whole: no key string is built per call.
type personCache[T any] struct {
	mu    sync.Mutex
	m     map[uint64][]*personEntry[T]
	order []uint64        // one per entry, oldest first
	last  *personEntry[T] // the entry returned last: most calls are for the same person
}

type personEntry[T any] struct {
	pseudo string
	ids    []Identifier
	v      T
}

// personCacheSize bounds each cache.
const personCacheSize = 64

var personSeed = maphash.MakeSeed()

// get returns the value for the identifiers ids (and the pseudonym
// pseudo), built by build on a miss.
func (c *personCache[T]) get(pseudo string, ids []Identifier, build func() T) T {
	c.mu.Lock()
	if e := c.last; e != nil && e.pseudo == pseudo && sameIdentifiers(e.ids, ids) {
		c.mu.Unlock()
		return e.v
	}
	c.mu.Unlock()
	var h maphash.Hash
	h.SetSeed(personSeed)
	h.WriteString(pseudo)
	for _, x := range ids {
		h.WriteByte(0)
		h.WriteString(x.Kind)
		h.WriteByte(1)
		h.WriteString(x.Value)
	}
	k := h.Sum64()
	c.mu.Lock()
	for _, e := range c.m[k] {
		if e.pseudo == pseudo && sameIdentifiers(e.ids, ids) {
			c.last = e
			c.mu.Unlock()
			return e.v
		}
	}
	c.mu.Unlock()
	v := build()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[uint64][]*personEntry[T]{}
	}
	if len(c.order) >= personCacheSize {
		old := c.order[0]
		c.order = c.order[1:]
		if es := c.m[old]; len(es) > 1 {
			c.m[old] = es[1:]
		} else {
			delete(c.m, old)
		}
	}
	e := &personEntry[T]{pseudo: pseudo, ids: slices.Clone(ids), v: v}
	c.m[k] = append(c.m[k], e)
	c.order = append(c.order, k)
	c.last = e
	return v
}

// sameIdentifiers is slices.Equal(a, b), with a shortcut for the strings
// of the same length at the same address, which are equal (strings never
// change): a cache entry's copy of the identifiers shares the caller's
// strings, and a caller passes one person's identifiers for each value
// of a record or a file. Compared field by field through == (a call each),
// the lookups of a small CT slice's values cost about 2% of it.
func sameIdentifiers(a, b []Identifier) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameString(a[i].Kind, b[i].Kind) || !sameString(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}
