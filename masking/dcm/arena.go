package dcm

import (
	"cmp"
	"strings"

	"github.com/suyashkumar/dicom"
)

// An arena is what the fast decoder carves a file's elements, one-value
// string lists, int lists and library values out of, in blocks of
// blockLen. A Handler recycles arenas from file to file: nothing refers to
// a dataset's elements or values once Deidentify returns (the result holds
// strings only), and fresh blocks per file were half of the bytes a small
// slice allocated, each of them a cost to the garbage collector. release
// clears every block handed out, so that no value of one file stays
// reachable from the pool.
type arena struct {
	top  []*dicom.Element // the top-level list of the last file
	els  blocks[dicom.Element]
	strs blocks[string]
	ints blocks[int]
	// byte values (clone): blocks of byteBlockLen
	bytes     blocks[byte]
	byteBlock []byte
	vals      values
	// sequences (sequences.go): items, their element lists and the
	// sequences' item lists
	items    blocks[dicom.SequenceItemValue]
	ptrs     blocks[*dicom.Element]
	itemPtrs blocks[*dicom.SequenceItemValue]
	// the blocks being handed out, element by element and one-string
	// list by list, to the decoder and the de-identifier (made.go)
	elBlock      []dicom.Element
	strBlock     []string
	itemBlock    []dicom.SequenceItemValue
	ptrBlock     []*dicom.Element
	itemPtrBlock []*dicom.SequenceItemValue
	// the lists of the items being built, stacked (sequences.go)
	elStack   []*dicom.Element
	itemStack [][]*dicom.Element
	// a file's de-identification and output writers (Handler.deidentify),
	// recycled too: each was an allocation per file
	d  deid
	cw countingWriter
	ru reportUnscanned
}

func newArena() *arena { return &arena{vals: newValues(), bytes: blocks[byte]{size: byteBlockLen}} }

// maxArenaBlocks bounds the blocks of each kind an arena keeps for the
// next file (64 blocks of 64 elements: a large SR or RT structure set
// allocates the rest anew, and lets it go).
const maxArenaBlocks = 64

// release clears what the arena handed out, for the next file.
func (a *arena) release() {
	clear(a.top[:cap(a.top)]) // an append past the list may have used the array
	a.top = a.top[:0]
	if cap(a.top) > maxArenaBlocks*blockLen {
		a.top = nil
	}
	a.elBlock, a.strBlock, a.itemBlock, a.ptrBlock, a.itemPtrBlock, a.byteBlock = nil, nil, nil, nil, nil, nil
	a.els.reset()
	a.strs.reset()
	a.ints.reset()
	a.bytes.reset()
	a.items.reset()
	a.ptrs.reset()
	a.itemPtrs.reset()
	// a failed decode leaves what it pushed
	clear(a.elStack[:cap(a.elStack)])
	clear(a.itemStack[:cap(a.itemStack)])
	a.elStack, a.itemStack = a.elStack[:0], a.itemStack[:0]
	a.d.spell.Close()
	a.d, a.cw, a.ru = deid{}, countingWriter{}, reportUnscanned{}
	for _, b := range []*valueBlock{&a.vals.strs, &a.vals.ints, &a.vals.bytes, &a.vals.floats, &a.vals.seqs, &a.vals.pixels} {
		b.reset()
	}
}

// newElement returns a zero element of the arena.
func (a *arena) newElement() *dicom.Element {
	if len(a.elBlock) == 0 {
		a.elBlock = a.els.next()
	}
	e := &a.elBlock[0]
	a.elBlock = a.elBlock[1:]
	return e
}

// byteBlockLen is the size of the blocks byte values are copied into;
// values over a quarter of it get their own array.
const byteBlockLen = 4096

// clone copies b into the arena, as the package's clone does: empty but
// not nil when b is empty. The decoder copies every OB, OW and UN value
// (overlay data, private bytes, a few bytes each in most files).
func (a *arena) clone(b []byte) []byte {
	if len(b) > byteBlockLen/4 {
		return clone(b)
	}
	if len(b) == 0 {
		return []byte{}
	}
	if len(a.byteBlock) < len(b) {
		a.byteBlock = a.bytes.next()
	}
	c := a.byteBlock[:len(b):len(b)]
	a.byteBlock = a.byteBlock[len(b):]
	copy(c, b)
	return c
}

// one returns a list of one string, s, from the arena.
func (a *arena) one(s string) []string {
	v := carve(&a.strs, &a.strBlock, 1)
	v[0] = s
	return v
}

// split is strings.Split(s, `\`) (the values of a multi-valued text
// attribute), the list from the arena.
func (a *arena) split(s string) []string {
	v := carve(&a.strs, &a.strBlock, strings.Count(s, `\`)+1)
	for i := range len(v) - 1 {
		j := strings.IndexByte(s, '\\')
		v[i], s = s[:j], s[j+1:]
	}
	v[len(v)-1] = s
	return v
}

// blocks are the blocks of one kind: all those allocated, the first used
// of them handed out since the last reset.
type blocks[T any] struct {
	all  [][]T
	used int
	size int // of a block; 0: blockLen
}

// next returns a block of zero values.
func (b *blocks[T]) next() []T {
	if b.used < len(b.all) {
		s := b.all[b.used]
		b.used++
		return s
	}
	s := make([]T, cmp.Or(b.size, blockLen))
	if len(b.all) < maxArenaBlocks {
		b.all = append(b.all, s)
		b.used++
	}
	return s
}

func (b *blocks[T]) reset() {
	for _, s := range b.all[:b.used] {
		clear(s)
	}
	b.used = 0
}

// nextBlock returns a slab of blockLen zero structs of b's type.
func (b *valueBlock) nextBlock() *valueSlab {
	if b.used < len(b.all) {
		v := b.all[b.used]
		b.used++
		return v
	}
	v := newValueSlab(b.typ)
	if len(b.all) < maxArenaBlocks {
		b.all = append(b.all, v)
		b.used++
	}
	return v
}

func (b *valueBlock) reset() {
	for _, v := range b.all[:b.used] {
		v.arr.Clear()
	}
	b.used = 0
	b.slab = nil
	b.next = 0
}
