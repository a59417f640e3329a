package dcm

import (
	"reflect"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// TestIssue19_SequenceFromArenaLikeNewValue: a sequence the arena makes
// is a value of dicom.NewValue's type with the same items (an empty list
// of items, not nil, as NewValue's), read back by itemsOf and elementsOf
// as by GetValue, and a released arena clears it.
func TestIssue19_SequenceFromArenaLikeNewValue(t *testing.T) {
	if !itemListDirect || valueTypes.seqs == nil || valuePtrTypes.seqs == nil {
		t.Fatal("suyashkumar/dicom's sequence layout changed: sequences come from dicom.NewValue again (slower, still correct)")
	}
	a := newArena()
	el := func(s string) *dicom.Element {
		return &dicom.Element{Tag: tag.PatientName, RawValueRepresentation: "PN", Value: a.value([]string{s})}
	}
	var made []dicom.Value
	for n := range blockLen/4 + 3 { // past the carved lists' bound
		lists := make([][]*dicom.Element, n)
		for i := range lists {
			for j := range i % 3 { // some items empty
				lists[i] = append(lists[i], el(string(rune('A'+j))))
			}
		}
		got := a.sequence(lists)
		want, _ := dicom.NewValue(lists)
		if reflect.TypeOf(got) != reflect.TypeOf(want) || !got.Equals(want) {
			t.Fatalf("%d items: %v, NewValue %v", n, got, want)
		}
		items := itemsOf(got)
		if items == nil || !reflect.DeepEqual(items, got.GetValue()) {
			t.Fatalf("%d items: itemsOf %v, GetValue %v", n, items, got.GetValue())
		}
		for i, it := range items {
			if els := elementsOf(it); !reflect.DeepEqual(els, it.GetValue()) || !reflect.DeepEqual(els, lists[i]) {
				t.Fatalf("item %d of %d: elementsOf %v, GetValue %v", i, n, els, it.GetValue())
			}
		}
		made = append(made, got)
	}
	a.release()
	for _, v := range made {
		if len(itemsOf(v)) != 0 {
			t.Fatal("a released arena still holds a sequence's items")
		}
	}
}

// TestIssue19_ArenaStacksPop: items pushed on the arena's stacks by nested
// containers come back in their own lists, in order, and leave the stacks
// as they were.
func TestIssue19_ArenaStacksPop(t *testing.T) {
	a := newArena()
	e1, e2, e3 := &dicom.Element{}, &dicom.Element{}, &dicom.Element{}
	outer := len(a.elStack)
	a.elStack = append(a.elStack, e1)
	inner := len(a.elStack)
	a.elStack = append(a.elStack, e2, e3)
	if got := a.popElements(inner); len(got) != 2 || got[0] != e2 || got[1] != e3 || cap(got) != 2 {
		t.Fatalf("inner list %v", got)
	}
	if got := a.popElements(outer); len(got) != 1 || got[0] != e1 {
		t.Fatalf("outer list %v", got)
	}
	if got := a.popElements(0); got != nil || len(a.elStack) != 0 {
		t.Fatalf("empty list %v, stack %d", got, len(a.elStack))
	}
	a.itemStack = append(a.itemStack, []*dicom.Element{e1}, nil)
	if v := a.popSequence(0); len(itemsOf(v)) != 2 || len(a.itemStack) != 0 {
		t.Fatalf("sequence of %d items, stack %d", len(itemsOf(v)), len(a.itemStack))
	}
}
