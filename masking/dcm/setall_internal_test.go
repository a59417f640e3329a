package dcm

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// TestIssue19_SetAllLikeReplaceAndSort: setAll, which merges instead of
// sorting, gives the list (the same elements, in the same order) that
// replacing each element then sorting gives, for sorted and unsorted lists
// with repeated tags and sets in and out of tag order.
func TestIssue19_SetAllLikeReplaceAndSort(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 19))
	el := func(e uint16) *dicom.Element { return &dicom.Element{Tag: tag.Tag{Group: 0x0010, Element: e}} }
	for n := range 2000 {
		var els []*dicom.Element
		for range r.IntN(12) {
			els = append(els, el(uint16(r.IntN(10))))
		}
		if n%4 != 0 {
			sortElements(els)
		}
		var set []*dicom.Element
		for e := range 10 {
			if r.IntN(3) == 0 {
				set = append(set, el(uint16(e)))
			}
		}
		if n%5 == 0 && len(set) > 1 {
			set[0], set[1] = set[1], set[0]
		}
		want := slices.Clone(els)
		for _, e := range set {
			want = replace(want, e)
		}
		sortElements(want)
		got := setAll(slices.Clip(slices.Clone(els)), set)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: setAll differs from replace and sort", n)
		}
		got = setAll(append(make([]*dicom.Element, 0, len(els)+10), els...), set) // room to grow in place
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: setAll with room differs from replace and sort", n)
		}
	}
}
