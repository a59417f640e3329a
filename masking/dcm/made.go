package dcm

import (
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// The elements the de-identifier makes (a value replaced, emptied,
// shifted, remapped) come from the file's arena, as the decoder's do: a
// CT slice's header makes a few dozen, each two allocations (the element
// and its value) for the garbage collector otherwise (issue 19's speed). They are released with the arena, after
// the output is written; nothing else refers to them.

// element returns a new element of the arena, a copy of e.
func (a *arena) element(e *dicom.Element) *dicom.Element {
	ne := a.newElement()
	*ne = *e
	return ne
}

// value returns a value holding data, from the arena for the list types
// the decoder makes (dicom.NewValue's otherwise).
func (a *arena) value(data any) dicom.Value {
	switch v := data.(type) {
	case []string:
		return newValue(&a.vals.strs, v)
	case []int:
		return newValue(&a.vals.ints, v)
	case []byte:
		return newValue(&a.vals.bytes, v)
	case []float64:
		return newValue(&a.vals.floats, v)
	}
	v, err := dicom.NewValue(data)
	if err != nil {
		panic(err) // programming error: wrong Go type
	}
	return v
}

// withValue returns a copy of e holding a new value (the parsed tree is
// never modified in place), made in the file's arena.
func (d *deid) withValue(e *dicom.Element, data any) *dicom.Element {
	return d.with(e, d.ar.value(data))
}

// withStrings is withValue for a list of strings, the common case: the
// list goes to the arena's value without being boxed into an interface
// (an allocation per call otherwise).
func (d *deid) withStrings(e *dicom.Element, list []string) *dicom.Element {
	return d.with(e, newValue(&d.ar.vals.strs, list))
}

// with returns a copy of e holding v.
func (d *deid) with(e *dicom.Element, v dicom.Value) *dicom.Element {
	ne := d.ar.element(e)
	ne.Value = v
	ne.ValueLength = 0
	if ne.RawValueRepresentation == "UN" && ne.Value.ValueType() == dicom.Sequences {
		ne.RawValueRepresentation = "SQ"
		ne.ValueRepresentation = tag.VRSequence
	}
	return ne
}

// one returns a list of one string from the file's arena.
func (d *deid) one(s string) []string { return d.ar.one(s) }

// zero returns e with an empty value of the same kind, made in the file's
// arena.
func (d *deid) zero(e *dicom.Element) *dicom.Element {
	if e.Value.ValueType() == dicom.Sequences {
		return d.with(e, d.ar.sequence(nil))
	}
	ne := d.ar.element(e)
	ne.Value, ne.ValueLength = emptyValue(e), 0
	return ne
}

// elemString returns a new element holding one string, made in the
// file's arena (the list not boxed: see withStrings).
func (d *deid) elemString(t tag.Tag, vr, s string) *dicom.Element {
	return d.elemOf(t, vr, newValue(&d.ar.vals.strs, d.one(s)))
}

func (d *deid) elemOf(t tag.Tag, vr string, v dicom.Value) *dicom.Element {
	ne := d.ar.newElement()
	ne.Tag, ne.ValueRepresentation, ne.RawValueRepresentation, ne.Value = t, tag.GetVRKind(t, vr), vr, v
	return ne
}
