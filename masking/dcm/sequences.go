package dcm

import (
	"reflect"
	"unsafe"

	"github.com/suyashkumar/dicom"
)

// Sequence values from the arena: the decoder and the de-identifier build
// a sequence's items in the arena's stacks (elStack, itemStack: a nested
// sequence pushes above its parent's and pops what it pushed), then cut
// exact-size lists, the items and the value out of the arena's blocks.
// With dicom.NewValue and appends, a CT slice's four small sequences made
// a third of its allocations.

var (
	seqsType     = reflect.TypeFor[[]*dicom.SequenceItemValue]()
	elementsType = reflect.TypeFor[[]*dicom.Element]()
)

// itemListDirect reports whether dicom.SequenceItemValue is a struct whose
// only field, at offset 0, is its element list (v1.1.0's layout): the list
// is then read and set through a pointer to the item. Otherwise items are
// read through GetValue and made by dicom.NewValue.
var itemListDirect = func() bool {
	t := reflect.TypeFor[dicom.SequenceItemValue]()
	return t.NumField() == 1 && t.Field(0).Type == elementsType && t.Field(0).Offset == 0
}()

// itemsOf returns the items of a Sequences value (nil for other values).
func itemsOf(v dicom.Value) []*dicom.SequenceItemValue {
	return listOf[*dicom.SequenceItemValue](v, valuePtrTypes.seqs, dicom.Sequences, seqsType)
}

// elementsOf returns the elements of a sequence item without boxing them
// (SequenceItemValue.GetValue returns an interface, an allocation).
func elementsOf(it *dicom.SequenceItemValue) []*dicom.Element {
	if itemListDirect {
		return *(*[]*dicom.Element)(unsafe.Pointer(it))
	}
	els, _ := it.GetValue().([]*dicom.Element)
	return els
}

// carve returns a list of n zero values cut from *cur, which is a new
// block of b when it has fewer than n left; a list of more than a quarter
// block gets its own array.
func carve[T any](b *blocks[T], cur *[]T, n int) []T {
	if n > blockLen/4 {
		return make([]T, n)
	}
	if len(*cur) < n {
		*cur = b.next()
	}
	v := (*cur)[:n:n]
	*cur = (*cur)[n:]
	return v
}

// popElements returns the elements pushed on elStack since start, in a
// list of their own (nil when there are none), and pops them.
func (a *arena) popElements(start int) []*dicom.Element {
	pushed := a.elStack[start:]
	var els []*dicom.Element
	if len(pushed) > 0 {
		els = carve(&a.ptrs, &a.ptrBlock, len(pushed))
		copy(els, pushed)
	}
	clear(pushed)
	a.elStack = a.elStack[:start]
	return els
}

// popSequence returns a sequence value of the items pushed on itemStack
// since start, and pops them.
func (a *arena) popSequence(start int) dicom.Value {
	lists := a.itemStack[start:]
	v := a.sequence(lists)
	clear(lists)
	a.itemStack = a.itemStack[:start]
	return v
}

// sequence returns a sequence value of one item per list, as
// dicom.NewValue(lists) makes it, from the arena.
func (a *arena) sequence(lists [][]*dicom.Element) dicom.Value {
	if a.vals.seqs.typ == nil || !itemListDirect {
		v, _ := dicom.NewValue(lists) // copies each list into an item, not lists itself
		return v
	}
	items := []*dicom.SequenceItemValue{} // as NewValue: empty, not nil
	if len(lists) > 0 {
		items = carve(&a.itemPtrs, &a.itemPtrBlock, len(lists))
	}
	for i, l := range lists {
		it := &carve(&a.items, &a.itemBlock, 1)[0]
		*(*[]*dicom.Element)(unsafe.Pointer(it)) = l
		items[i] = it
	}
	return newValue(&a.vals.seqs, items)
}
