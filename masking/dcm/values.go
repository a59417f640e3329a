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
	stringsType   = reflect.TypeFor[[]string]()
	intsType      = reflect.TypeFor[[]int]()
	bytesType     = reflect.TypeFor[[]byte]()
	pixelInfoType = reflect.TypeFor[dicom.PixelDataInfo]()
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
	return listOf[string](v, valuePtrTypes.strs, dicom.Strings, stringsType)
}

// intsOf returns the ints of an Ints value (nil for other values).
func intsOf(v dicom.Value) []int {
	return listOf[int](v, valuePtrTypes.ints, dicom.Ints, intsType)
}

// bytesOf returns the bytes of a Bytes value (nil for other values).
func bytesOf(v dicom.Value) []byte {
	return listOf[byte](v, valuePtrTypes.bytes, dicom.Bytes, bytesType)
}

// pixelInfoOf returns the PixelDataInfo of a PixelData value, read like a
// list (the library's value holds it as its only field), or through
// GetValue; ok is false for other values.
func pixelInfoOf(v dicom.Value) (info dicom.PixelDataInfo, ok bool) {
	if p := knownList(v, valuePtrTypes.pixels); p != nil {
		return *(*dicom.PixelDataInfo)(p), true
	}
	info, ok = v.GetValue().(dicom.PixelDataInfo)
	return info, ok
}

// listOf returns the []T list of a value of type vt (nil for other
// values): through knownList when v is of pointer type pt, else through
// listField (listType is []T), else GetValue.
func listOf[T any](v dicom.Value, pt reflect.Type, vt dicom.ValueType, listType reflect.Type) []T {
	if p := knownList(v, pt); p != nil {
		return *(*[]T)(p)
	}
	if v == nil || v.ValueType() != vt {
		return nil
	}
	if p := listField(v, listType); p != nil {
		return *(*[]T)(p)
	}
	s, _ := v.GetValue().([]T)
	return s
}

// knownList returns the address of the list inside v when v is a pointer
// of type pt, a pointer to one of valueTypes' structs (their only field,
// the list, is at offset 0), else nil: the common case without reflect's
// walk through the struct for each read (listField).
func knownList(v dicom.Value, pt reflect.Type) unsafe.Pointer {
	if pt == nil || v == nil || reflect.TypeOf(v) != pt {
		return nil
	}
	return reflect.ValueOf(v).UnsafePointer()
}

// A valueBlock makes library values of one list type (the struct that
// dicom.NewValue allocates for a []string, []int, []byte or []float64)
// out of one array of them, instead of two allocations per value (the
// struct, and the slice header boxed into NewValue's argument): a small
// file has a few hundred values. The struct type is checked like in
// listField; when it does not hold a single list of the expected type,
// typ is nil and values come from dicom.NewValue.
type valueBlock struct {
	typ  reflect.Type // the struct type, or nil
	slab *valueSlab   // the block being handed out
	next int
	// the blocks of the arena (arena.go): all, and those handed out
	all  []*valueSlab
	used int
}

// A valueSlab is one array of blockLen value structs with, for each, the
// dicom.Value that points to it and the address of its list. Both are
// made once, with the slab (through reflect, which cost more than the rest
// of the value), and serve every file the arena recycles the slab for:
// handing out a value is then a store of its list and an index.
type valueSlab struct {
	arr   reflect.Value    // the array, for clearing it
	vals  []dicom.Value    // vals[i] points to arr[i]
	lists []unsafe.Pointer // lists[i] is the address of arr[i]'s list
}

func newValueSlab(typ reflect.Type) *valueSlab {
	arr := reflect.MakeSlice(reflect.SliceOf(typ), blockLen, blockLen)
	s := &valueSlab{arr: arr, vals: make([]dicom.Value, blockLen), lists: make([]unsafe.Pointer, blockLen)}
	for i := range blockLen {
		v := arr.Index(i)
		s.vals[i] = v.Addr().Interface().(dicom.Value)
		s.lists[i] = unsafe.Pointer(v.Field(0).UnsafeAddr())
	}
	return s
}

// valueTypes are the struct types behind dicom.NewValue's lists.
var valueTypes = func() (t struct{ strs, ints, bytes, floats, seqs, pixels reflect.Type }) {
	structOf := func(data any, list reflect.Type) reflect.Type {
		v, err := dicom.NewValue(data)
		if err != nil || listField(v, list) == nil {
			return nil
		}
		return reflect.TypeOf(v).Elem()
	}
	t.strs = structOf([]string{}, stringsType)
	t.ints = structOf([]int{}, intsType)
	t.bytes = structOf([]byte{}, bytesType)
	t.floats = structOf([]float64{}, reflect.TypeFor[[]float64]())
	t.seqs = structOf([][]*dicom.Element{}, seqsType)
	t.pixels = structOf(dicom.PixelDataInfo{}, pixelInfoType)
	return t
}()

// valuePtrTypes are the pointer types of valueTypes (nil where that is nil).
var valuePtrTypes = func() (t struct{ strs, ints, bytes, seqs, pixels reflect.Type }) {
	ptr := func(st reflect.Type) reflect.Type {
		if st == nil || st.Field(0).Offset != 0 {
			return nil
		}
		return reflect.PointerTo(st)
	}
	t.strs, t.ints, t.bytes = ptr(valueTypes.strs), ptr(valueTypes.ints), ptr(valueTypes.bytes)
	t.seqs, t.pixels = ptr(valueTypes.seqs), ptr(valueTypes.pixels)
	return t
}()

// newValue returns a new value holding list, T being the list type of
// b's struct (a typed store: the garbage collector sees the pointers).
func newValue[T any](b *valueBlock, list T) dicom.Value {
	if b.typ == nil {
		v, _ := dicom.NewValue(list)
		return v
	}
	if b.slab == nil || b.next == blockLen {
		b.slab = b.nextBlock()
		b.next = 0
	}
	i := b.next
	b.next++
	*(*T)(b.slab.lists[i]) = list
	return b.slab.vals[i]
}

// values makes the decoder's values.
type values struct {
	strs, ints, bytes, floats, seqs, pixels valueBlock
}

func newValues() values {
	return values{strs: valueBlock{typ: valueTypes.strs}, ints: valueBlock{typ: valueTypes.ints},
		bytes: valueBlock{typ: valueTypes.bytes}, floats: valueBlock{typ: valueTypes.floats}, seqs: valueBlock{typ: valueTypes.seqs},
		pixels: valueBlock{typ: valueTypes.pixels}}
}
