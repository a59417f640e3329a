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
	set := [...]*dicom.Element{
		charsetUTF8,
		d.elemString(tag.PatientName, "PN", d.p.Pseudonym),
		d.elemString(tag.PatientID, "LO", d.p.Pseudonym),
		identityRemoved,
		method[0],
		method[1],
		longitudinal,
		burnedInNo,
	}
	n := len(set)
	if !d.pixelsMasked {
		n--
	}
	for _, e := range set[:n] {
		out = replace(out, e)
	}
	sortElements(out)
	return out
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
