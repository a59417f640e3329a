package dcm

import (
	"slices"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
)

// TestIssue19_ValuesReadWithoutBoxing: stringsOf and intsOf read the same
// lists as GetValue (the library's value layout is what they expect) and
// allocate nothing.
func TestIssue19_ValuesReadWithoutBoxing(t *testing.T) {
	sv, _ := dicom.NewValue([]string{"A", "B"})
	iv, _ := dicom.NewValue([]int{1, 2, 3})
	bv, _ := dicom.NewValue([]byte{1})
	if got := stringsOf(sv); !slices.Equal(got, []string{"A", "B"}) {
		t.Fatalf("stringsOf = %v", got)
	}
	if got := intsOf(iv); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("intsOf = %v", got)
	}
	if stringsOf(iv) != nil || intsOf(sv) != nil || stringsOf(bv) != nil || stringsOf(nil) != nil {
		t.Fatal("a list read from a value of another type")
	}
	if knownList(sv, valuePtrTypes.strs) == nil || knownList(iv, valuePtrTypes.ints) == nil || knownList(sv, valuePtrTypes.ints) != nil {
		t.Fatal("the lists of the library's values are not read directly")
	}
	if listField(sv, stringsType) == nil || listField(iv, intsType) == nil {
		t.Fatal("suyashkumar/dicom's value layout changed: lists are boxed again (slower, still correct)")
	}
	if n := testing.AllocsPerRun(100, func() { _ = stringsOf(sv); _ = intsOf(iv) }); n != 0 {
		t.Fatalf("%v allocations per read", n)
	}
}

// TestIssue19_TrimSpaceNulLikeTrim: the decoder's trim is strings.Trim
// with the cutset " \x00".
func TestIssue19_TrimSpaceNulLikeTrim(t *testing.T) {
	for _, s := range []string{"", " ", "\x00", "A", " A ", "A\x00", "\x00 A B \x00 ", "  \x00\x00", "\tA\t", "é ", " \x00é"} {
		if got, want := trimSpaceNul(s), strings.Trim(s, " \x00"); got != want {
			t.Errorf("%q: %q, strings.Trim %q", s, got, want)
		}
	}
}
