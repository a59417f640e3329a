package dcm

import (
	"cmp"
	"slices"

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
	var names []string
	var items [][]*dicom.Element
	for _, m := range methodCodes {
		if !m.on(d) {
			continue
		}
		names = append(names, m.meaning)
		items = append(items, []*dicom.Element{
			elem(tag.CodeValue, "SH", []string{m.code}),
			elem(tag.CodingSchemeDesignator, "SH", []string{"DCM"}),
			elem(tag.CodeMeaning, "LO", []string{m.meaning}),
		})
	}
	longitudinal := "REMOVED"
	switch {
	case d.opts.RetainLongitudinalFullDates:
		longitudinal = "UNMODIFIED"
	case d.opts.RetainLongitudinalModifiedDates:
		longitudinal = "MODIFIED"
		d.actions = append(d.actions, "dates:shifted")
	}
	set := []*dicom.Element{
		elem(tag.SpecificCharacterSet, "CS", []string{"ISO_IR 192"}),
		elem(tag.PatientName, "PN", []string{d.p.Pseudonym}),
		elem(tag.PatientID, "LO", []string{d.p.Pseudonym}),
		elem(tag.PatientIdentityRemoved, "CS", []string{"YES"}),
		elem(tag.DeidentificationMethod, "LO", append([]string{"hdw PS3.15 Annex E " + annexe.Edition}, names...)),
		elem(tag.DeidentificationMethodCodeSequence, "SQ", items),
		elem(tag.LongitudinalTemporalInformationModified, "CS", []string{longitudinal}),
	}
	if d.pixelsMasked {
		set = append(set, elem(tag.BurnedInAnnotation, "CS", []string{"NO"}))
	}
	for _, e := range set {
		out = replace(out, e)
	}
	sortElements(out)
	return out
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

// withValue returns a copy of e holding a new value (the parsed tree is
// never modified in place).
func withValue(e *dicom.Element, data any) *dicom.Element {
	v, err := dicom.NewValue(data)
	if err != nil {
		panic(err) // programming error: wrong Go type
	}
	ne := *e
	ne.Value = v
	ne.ValueLength = 0
	if ne.RawValueRepresentation == "UN" && v.ValueType() == dicom.Sequences {
		ne.RawValueRepresentation = "SQ"
		ne.ValueRepresentation = tag.VRSequence
	}
	return &ne
}

// sortElements orders a dataset level by tag, as Part 10 requires.
func sortElements(els []*dicom.Element) {
	slices.SortStableFunc(els, func(a, b *dicom.Element) int {
		return cmp.Or(cmp.Compare(a.Tag.Group, b.Tag.Group), cmp.Compare(a.Tag.Element, b.Tag.Element))
	})
}
