package dcm

import (
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// The elements the de-identifier makes (a value replaced, emptied,
// shifted, remapped) come from the file's arena when it has one, as the
// decoder's do: a CT slice's header makes a few dozen, each two
// allocations (the element and its value) for the garbage collector
// otherwise (issue 19's speed). They are released with the arena, after
// the output is written; nothing else refers to them.

// element returns a new element of the arena, a copy of e.
func (a *arena) element(e *dicom.Element) *dicom.Element {
	if len(a.elBlock) == 0 {
		a.elBlock = a.els.next()
	}
	ne := &a.elBlock[0]
	a.elBlock = a.elBlock[1:]
	*ne = *e
	return ne
}

// one returns a list of one string, s, from the arena.
func (a *arena) one(s string) []string {
	if len(a.strBlock) == 0 {
		a.strBlock = a.strs.next()
	}
	v := a.strBlock[:1:1]
	a.strBlock = a.strBlock[1:]
	v[0] = s
	return v
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

// withValue is the package's withValue, the element and its value made in
// the file's arena when d has one.
func (d *deid) withValue(e *dicom.Element, data any) *dicom.Element {
	if d.ar == nil {
		return withValue(e, data)
	}
	ne := d.ar.element(e)
	ne.Value = d.ar.value(data)
	ne.ValueLength = 0
	if ne.RawValueRepresentation == "UN" && ne.Value.ValueType() == dicom.Sequences {
		ne.RawValueRepresentation = "SQ"
		ne.ValueRepresentation = tag.VRSequence
	}
	return ne
}

// one returns a list of one string, from the file's arena when d has one.
func (d *deid) one(s string) []string {
	if d.ar == nil {
		return []string{s}
	}
	return d.ar.one(s)
}

// zero is the package's zero, the element made in the file's arena when d
// has one.
func (d *deid) zero(e *dicom.Element) *dicom.Element {
	if d.ar == nil || e.Value.ValueType() == dicom.Sequences {
		return zero(e)
	}
	ne := d.ar.element(e)
	ne.Value, ne.ValueLength = emptyValue(e), 0
	return ne
}

// elem is the package's elem, made in the file's arena when d has one.
func (d *deid) elem(t tag.Tag, vr string, data any) *dicom.Element {
	if d.ar == nil {
		return elem(t, vr, data)
	}
	ne := d.ar.element(&dicom.Element{})
	ne.Tag, ne.ValueRepresentation, ne.RawValueRepresentation, ne.Value = t, tag.GetVRKind(t, vr), vr, d.ar.value(data)
	return ne
}
