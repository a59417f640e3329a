package dcm

import (
	"cmp"
	"slices"
	"sync"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking/dcm/internal/annexe"
)

// The attributes hdw sets on every output (pseudonym, de-identification
// method and codes) and the element helpers of the walk.

// Deidentification Method codes, CID 7050.
var methodCodes = []struct {
	code, meaning string
	on            func(d *deid) bool
}{
	{"113100", "Basic Application Confidentiality Profile", func(*deid) bool { return true }},
	{"113101", "Clean Pixel Data Option", func(d *deid) bool { return d.pixelsMasked }},
	{"113102", "Clean Recognizable Visual Features Option", func(d *deid) bool { return d.facesMasked() }},
	{"113103", "Clean Graphics Option", func(d *deid) bool { return d.opts.CleanGraphics }},
	{"113104", "Clean Structured Content Option", func(d *deid) bool { return d.opts.CleanStructuredContent }},
	{"113105", "Clean Descriptors Option", func(d *deid) bool { return d.opts.CleanDescriptors && d.cfg.Clean != nil }},
	{"113106", "Retain Longitudinal Temporal Information Full Dates Option", func(d *deid) bool { return d.opts.RetainLongitudinalFullDates }},
	{"113107", "Retain Longitudinal Temporal Information Modified Dates Option", func(d *deid) bool {
		return d.opts.RetainLongitudinalModifiedDates && !d.opts.RetainLongitudinalFullDates
	}},
	{"113108", "Retain Patient Characteristics Option", func(d *deid) bool { return d.opts.RetainPatientCharacteristics }},
	{"113109", "Retain Device Identity Option", func(d *deid) bool { return d.opts.RetainDeviceIdentity }},
	{"113111", "Retain Safe Private Option", func(d *deid) bool { return d.opts.RetainSafePrivate && d.keptPrivate > 0 }},
}

// setIdentity writes the pseudonym and the de-identification attributes at
// the top level.
func (d *deid) setIdentity(out []*dicom.Element) []*dicom.Element {
	var on uint16
	for i, m := range methodCodes {
		if m.on(d) {
			on |= 1 << i
		}
	}
	longitudinal := longRemoved
	switch {
	case d.opts.RetainLongitudinalFullDates:
		longitudinal = longUnmodified
	case d.opts.RetainLongitudinalModifiedDates:
		longitudinal = longModified
		d.actions = append(d.actions, "dates:shifted")
	}
	method := methodElements(on)
	var buf [8]*dicom.Element
	set := append(buf[:0], // in tag order
		charsetUTF8,
		d.elemString(tag.PatientName, "PN", d.p.Pseudonym),
		d.elemString(tag.PatientID, "LO", d.p.Pseudonym),
		identityRemoved,
		method[0],
		method[1])
	if d.pixelsMasked {
		set = append(set, burnedInNo)
	}
	set = append(set, longitudinal)
	return setAll(out, set)
}

// setAll puts each element of set in place of the first element of its
// tag in els, or adds it, and returns els sorted by tag: replace for each
// element, then sortElements. When els is sorted already (the walk's
// output) and set in strict tag order, the elements are found by binary
// search and those added are merged in from the end, without the sort
// (which with eight elements appended to a CT slice's top level cost
// about 3% of the file).
func setAll(els, set []*dicom.Element) []*dicom.Element {
	strict := true
	for i := 1; i < len(set); i++ {
		strict = strict && byTag(set[i-1], set[i]) < 0
	}
	if !strict || !slices.IsSortedFunc(els, byTag) {
		for _, e := range set {
			els = replace(els, e)
		}
		sortElements(els)
		return els
	}
	var buf [8]*dicom.Element
	added := buf[:0]
	for _, e := range set {
		// the first element of e's tag or above (BinarySearchFunc finds the first of equal ones)
		if i, found := slices.BinarySearchFunc(els, e, byTag); found {
			els[i] = e
		} else {
			added = append(added, e)
		}
	}
	if len(added) == 0 {
		return els
	}
	// Merge from the end: the added tags are not in els, so no order
	// between equal tags is at stake.
	i, j := len(els)-1, len(added)-1
	els = append(els, added...)
	for w := len(els) - 1; j >= 0; w-- {
		if i >= 0 && byTag(els[i], added[j]) > 0 {
			els[w] = els[i]
			i--
		} else {
			els[w] = added[j]
			j--
		}
	}
	return els
}

// The elements every output shares: never modified once built (the walk
// and the encoder only read elements; changes make new ones).
var (
	charsetUTF8     = elem(tag.SpecificCharacterSet, "CS", []string{"ISO_IR 192"})
	identityRemoved = elem(tag.PatientIdentityRemoved, "CS", []string{"YES"})
	longRemoved     = elem(tag.LongitudinalTemporalInformationModified, "CS", []string{"REMOVED"})
	longUnmodified  = elem(tag.LongitudinalTemporalInformationModified, "CS", []string{"UNMODIFIED"})
	longModified    = elem(tag.LongitudinalTemporalInformationModified, "CS", []string{"MODIFIED"})
	burnedInNo      = elem(tag.BurnedInAnnotation, "CS", []string{"NO"})
	methods         sync.Map // uint16 set of methodCodes -> *[2]*dicom.Element
)

// methodElements returns DeidentificationMethod and its code sequence for
// the set of methodCodes on (bit i: methodCodes[i]).
func methodElements(on uint16) *[2]*dicom.Element {
	if m, ok := methods.Load(on); ok {
		return m.(*[2]*dicom.Element)
	}
	names := []string{"hdw PS3.15 Annex E " + annexe.Edition}
	var items [][]*dicom.Element
	for i, m := range methodCodes {
		if on&(1<<i) == 0 {
			continue
		}
		names = append(names, m.meaning)
		items = append(items, []*dicom.Element{
			elem(tag.CodeValue, "SH", []string{m.code}),
			elem(tag.CodingSchemeDesignator, "SH", []string{"DCM"}),
			elem(tag.CodeMeaning, "LO", []string{m.meaning}),
		})
	}
	m := &[2]*dicom.Element{
		elem(tag.DeidentificationMethod, "LO", names),
		elem(tag.DeidentificationMethodCodeSequence, "SQ", items),
	}
	methods.Store(on, m)
	return m
}

// replace puts e in place of the element of its tag, or appends it.
func replace(els []*dicom.Element, e *dicom.Element) []*dicom.Element {
	if i := slices.IndexFunc(els, func(x *dicom.Element) bool { return x.Tag == e.Tag }); i >= 0 {
		els[i] = e
		return els
	}
	return append(els, e)
}

// elem builds an element; data is one of the types dicom.NewValue accepts.
func elem(t tag.Tag, vr string, data any) *dicom.Element {
	v, err := dicom.NewValue(data)
	if err != nil {
		panic(err) // programming error: wrong Go type
	}
	return &dicom.Element{Tag: t, ValueRepresentation: tag.GetVRKind(t, vr), RawValueRepresentation: vr, Value: v}
}

// sortElements orders a dataset level by tag, as Part 10 requires (most
// levels are in order already: they are only checked).
func sortElements(els []*dicom.Element) {
	if !slices.IsSortedFunc(els, byTag) {
		slices.SortStableFunc(els, byTag)
	}
}

func byTag(a, b *dicom.Element) int {
	return cmp.Or(cmp.Compare(a.Tag.Group, b.Tag.Group), cmp.Compare(a.Tag.Element, b.Tag.Element))
}
