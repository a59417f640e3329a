package dcm

import (
	"reflect"
	"unsafe"

	"github.com/suyashkumar/dicom"
)

// Reading the lists inside suyashkumar/dicom values without boxing them:
// Value.GetValue returns an interface, and converting a slice to one
// allocates its header on the heap, once per call. The walk and the
// encoder read every string value at least once; that was a sixth of the
// allocations of a small file. The list is read through reflect, which
// checks that the value is a struct whose only field has the expected
// type (the layout of v1.1.0's stringsValue and intsValue); any other
// value goes through GetValue.

var (
	stringsType = reflect.TypeFor[[]string]()
	intsType    = reflect.TypeFor[[]int]()
)

// listField returns the address of the only field of the struct v points
// to when that field is of type t, else nil.
func listField(v dicom.Value, t reflect.Type) unsafe.Pointer {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil
	}
	s := rv.Elem()
	if s.Kind() != reflect.Struct || s.NumField() != 1 || s.Field(0).Type() != t {
		return nil
	}
	return unsafe.Pointer(s.Field(0).UnsafeAddr())
}

// stringsOf returns the strings of a Strings value (nil for other values).
func stringsOf(v dicom.Value) []string {
	if v == nil || v.ValueType() != dicom.Strings {
		return nil
	}
	if p := listField(v, stringsType); p != nil {
		return *(*[]string)(p)
	}
	s, _ := v.GetValue().([]string)
	return s
}

// intsOf returns the ints of an Ints value (nil for other values).
func intsOf(v dicom.Value) []int {
	if v == nil || v.ValueType() != dicom.Ints {
		return nil
	}
	if p := listField(v, intsType); p != nil {
		return *(*[]int)(p)
	}
	s, _ := v.GetValue().([]int)
	return s
}
