package dcm

import (
	"reflect"
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

// TestIssue19_ValueSlabLikeNewValue: the values an arena hands out from
// its slabs (their interfaces made once per slab) are values of
// dicom.NewValue's type holding the list stored, each a distinct one, and
// a released arena clears them.
func TestIssue19_ValueSlabLikeNewValue(t *testing.T) {
	a := newArena()
	var made []dicom.Value
	for i := range 2*blockLen + 1 {
		s := []string{strings.Repeat("S", i)}
		n := []int{i, -i}
		b := []byte{byte(i)}
		f := []float64{float64(i) / 3}
		for _, c := range []struct {
			got  dicom.Value
			data any
		}{{a.value(s), s}, {a.value(n), n}, {a.value(b), b}, {a.value(f), f}} {
			want, _ := dicom.NewValue(c.data)
			if reflect.TypeOf(c.got) != reflect.TypeOf(want) || !c.got.Equals(want) {
				t.Fatalf("value %d: %v (%T), NewValue %v (%T)", i, c.got, c.got, want, want)
			}
			made = append(made, c.got)
		}
	}
	seen := map[dicom.Value]bool{}
	for _, v := range made {
		if seen[v] {
			t.Fatal("one value handed out twice")
		}
		seen[v] = true
	}
	a.release()
	for _, v := range made {
		if reflect.ValueOf(v.GetValue()).Len() != 0 {
			t.Fatal("a released arena still holds a value's list")
		}
	}
}
