package dcm

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
	"hdw/masking/dcm/internal/annexe"
)

// maxDepth bounds sequence nesting; deeper files are quarantined.
const maxDepth = 32

// deid is the state of one de-identification.
type deid struct {
	cfg  Config
	opts masking.DICOMOptions
	p    masking.Person
	o    masking.Options

	sopClass    string
	sr          bool
	enhanced    bool // a multi-frame enhanced IOD (shared functional groups)
	actions     []string
	keptPrivate int
	// scrubbed counts values the VR rule changed.
	scrubbed int
	// idDigits are the digits of the person's identifiers of 6 digits or
	// more (numbers holding one are replaced), computed once.
	idDigits []string
	// unknownRemoved counts public attributes removed because their value
	// could not be decoded (VR UN).
	unknownRemoved int
	pixelsMasked   bool
	// streamLen is the length of native pixel data that is streamed, not
	// held in memory (0: the pixels are in memory).
	streamLen int64
	// set when encapsulated pixels were decoded for masking
	newTS    string
	replaced []*dicom.Element

	// facts found at the top level, before any action
	patientID, patientName, modality string
	studyUID, seriesUID, sopUID      string // remapped
}

// run checks the dataset and returns the de-identified element list with
// its rebuilt file meta.
func (d *deid) run(ctx context.Context, ds dicom.Dataset) ([]*dicom.Element, error) {
	var meta, body []*dicom.Element
	for _, e := range ds.Elements {
		if e.Tag.Group == 0x0002 {
			meta = append(meta, e)
		} else {
			body = append(body, e)
		}
	}
	ts := firstString(find(meta, tag.TransferSyntaxUID))
	switch {
	case ts == "":
		return nil, masking.Quarantine("dicom without transfer syntax")
	case ts == tsDeflated:
		return nil, masking.Quarantine("deflated transfer syntax not supported")
	case ts == tsImplicitLE || ts == tsExplicitLE || ts == tsExplicitBE || encapsulatedSyntaxes[ts]:
	default:
		return nil, masking.Quarantine("transfer syntax not supported (%s)", codecName(ts))
	}

	d.sopClass = firstString(find(body, tag.SOPClassUID))
	if d.sopClass == "" {
		d.sopClass = firstString(find(meta, tag.MediaStorageSOPClassUID))
	}
	d.sr = strings.HasPrefix(d.sopClass, "1.2.840.10008.5.1.4.1.1.88.")
	d.enhanced = find(body, tag.SharedFunctionalGroupsSequence) != nil
	d.patientID = firstString(find(body, tag.PatientID))
	d.patientName = firstString(find(body, tag.PatientName))
	d.modality = strings.ToUpper(firstString(find(body, tag.Modality)))
	if !validModality(d.modality) {
		d.modality = ""
	}

	if err := d.objectClass(meta, body); err != nil {
		return nil, err
	}
	if find(body, tag.PixelData) != nil || !d.nonImage(body) {
		if err := d.pixelsOf(ctx, body, ts); err != nil {
			return nil, err
		}
	} else {
		d.actions = append(d.actions, "object:no-pixels")
	}

	out, err := d.walk(body, 0, false)
	if err != nil {
		return nil, err
	}
	for _, e := range d.replaced {
		out = replace(out, e)
	}
	if d.newTS != "" {
		ts = d.newTS
	}
	out = d.setIdentity(out)
	d.studyUID = firstString(find(out, tag.StudyInstanceUID))
	d.seriesUID = firstString(find(out, tag.SeriesInstanceUID))
	d.sopUID = firstString(find(out, tag.SOPInstanceUID))
	if d.sopUID == "" {
		d.sopUID = d.mapUID(firstString(find(meta, tag.MediaStorageSOPInstanceUID)))
	}
	if d.sopClass == "" || d.sopUID == "" {
		return nil, masking.Quarantine("dicom without sop class or instance")
	}
	newMeta := []*dicom.Element{
		elem(tag.FileMetaInformationVersion, "OB", []byte{0, 1}),
		elem(tag.MediaStorageSOPClassUID, "UI", []string{d.sopClass}),
		elem(tag.MediaStorageSOPInstanceUID, "UI", []string{d.sopUID}),
		elem(tag.TransferSyntaxUID, "UI", []string{ts}),
		elem(tag.ImplementationClassUID, "UI", []string{ImplementationClassUID}),
		elem(tag.ImplementationVersionName, "SH", []string{ImplementationVersionName}),
	}
	d.actions = append(d.actions, "annexE:basic:"+annexe.Edition, "meta:rebuilt")
	if d.unknownRemoved > 0 {
		d.actions = append(d.actions, fmt.Sprintf("un:removed:%d", d.unknownRemoved))
	}
	return append(newMeta, out...), nil
}

// pixelsOf checks, examines and masks the top-level pixel data of an image
// (the interface with pixels.go).
func (d *deid) pixelsOf(ctx context.Context, body []*dicom.Element, ts string) error {
	if b, _ := firstInt(find(body, tag.BitsAllocated)); b == 1 && !encapsulatedSyntaxes[ts] {
		return d.oneBit(body)
	}
	px, err := d.checkPixels(body, ts)
	if err != nil {
		return err
	}
	if d.streamLen > 0 && d.pixelAccess(body, px) {
		return errNeedPixels
	}
	if px.bitsAlloc == 12 && !px.encapsulated && d.streamLen == 0 && d.pixelAccess(body, px) {
		// Packed 12-bit samples are examined and masked as 16-bit ones,
		// then packed again into the output's pixel data.
		packed := px.raw
		n := px.rows * px.cols * px.frames * px.samples
		px.raw, px.bitsAlloc = unpack12(packed, n), 16
		defer pack12(packed, px.raw)
	}
	if err := d.maskPixels(ctx, body, px, ts); err != nil {
		return err
	}
	if !px.encapsulated && embeddedOverlay(body) {
		hb, ok := firstInt(find(body, tag.HighBit))
		if !ok {
			return masking.Quarantine("embedded overlay without high bit")
		}
		rep, _ := firstInt(find(body, tag.PixelRepresentation))
		px.bigEndian = ts == tsExplicitBE
		clearHighBits(px, hb, rep == 1)
		d.actions = append(d.actions, "pixels:overlay-bits-cleared")
	}
	return nil
}

func validModality(m string) bool {
	if len(m) == 0 || len(m) > 16 {
		return false
	}
	for _, c := range m {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func (d *deid) result() masking.Result {
	return masking.Result{
		Format:            "dicom",
		Ext:               ".dcm",
		Actions:           d.actions,
		Modality:          d.modality,
		StudyInstanceUID:  d.studyUID,
		SeriesInstanceUID: d.seriesUID,
		SOPInstanceUID:    d.sopUID,
		PatientID:         d.patientID,
		PatientName:       d.patientName,
	}
}

// walk applies the profile to one dataset level (the top level or one
// sequence item) and returns the kept elements, sorted by tag.
//
// strict is set inside a sequence whose action is D (a dummy sequence)
// without a Clean option: free text that the table does not name is then
// replaced by a dummy rather than scrubbed.
func (d *deid) walk(els []*dicom.Element, depth int, strict bool) ([]*dicom.Element, error) {
	if depth > maxDepth {
		return nil, masking.Quarantine("sequences nested too deep")
	}
	// Private creators of this level: (gggg,00xx) -> creator name.
	creators := map[uint32]string{}
	for _, e := range els {
		if e.Tag.Group%2 == 1 && e.Tag.Element >= 0x10 && e.Tag.Element <= 0xFF {
			creators[uint32(e.Tag.Group)<<16|uint32(e.Tag.Element)] = strings.ToUpper(firstString(e))
		}
	}
	keptBlocks := map[uint32]bool{}
	out := make([]*dicom.Element, 0, len(els))
	for _, e := range els {
		g, el := e.Tag.Group, e.Tag.Element
		switch {
		case g == 0x0002 || g == 0xFFFE:
			continue // file meta only at the top (rebuilt); stray items
		case g == 0xFFFA || g == 0xFFFC:
			continue // digital signatures (void once modified) and trailing padding
		case el == 0x0000:
			continue // group lengths
		case g%2 == 1:
			if el < 0x1000 {
				continue // creators decided below; (gggg,0001-000F) and (gggg,0100-0FFF) are invalid
			}
			block := uint32(g)<<16 | uint32(el>>8)
			creator, ok := creators[block]
			if !ok || !d.safePrivate(creator, g, el) {
				continue
			}
			ne, err := d.keepPrivate(e, depth, strict)
			if err != nil {
				return nil, err
			}
			keptBlocks[block] = true
			d.keptPrivate++
			out = append(out, ne)
			continue
		case g >= 0x5000 && g <= 0x50FF, g >= 0x6000 && g <= 0x60FF:
			continue // curves and overlays, whole groups (Annex E 50xx, 60xx rows)
		case g == 0x0008 && el == 0x0005:
			out = append(out, elem(tag.SpecificCharacterSet, "CS", []string{"ISO_IR 192"}))
			continue
		}
		row, listed := annexe.Lookup(g, el)
		if !listed && vr(e) == "UN" && e.Value != nil && e.Value.ValueType() == dicom.Bytes {
			// A public attribute the parser could not decode (unknown to its
			// dictionary, or a sequence encoded as UN): it cannot be
			// inspected, so it is removed.
			d.unknownRemoved++
			continue
		}
		if !listed {
			ne, err := d.byVR(e, depth, strict)
			if err != nil {
				return nil, err
			}
			if ne != nil {
				out = append(out, ne)
			}
			continue
		}
		ne, err := d.apply(e, row, depth, strict)
		if err != nil {
			return nil, err
		}
		if ne != nil {
			out = append(out, ne)
		}
	}
	for block := range keptBlocks {
		t := tag.Tag{Group: uint16(block >> 16), Element: uint16(block & 0xFF)}
		out = append(out, elem(t, "LO", []string{creators[block]}))
	}
	sortElements(out)
	return out, nil
}

func (d *deid) safePrivate(creator string, g, el uint16) bool {
	if !d.opts.RetainSafePrivate || creator == "" {
		return false
	}
	want := fmt.Sprintf("%s|%04X,XX%02X", creator, g, el&0xFF)
	for _, s := range d.opts.SafePrivate {
		if strings.EqualFold(strings.TrimSpace(s), want) {
			return true
		}
	}
	return false
}

// keepPrivate keeps a safelisted private element: its value goes through
// the VR rule like any attribute the table does not name, and a private
// sequence is walked so that identifiers nested in it are handled.
func (d *deid) keepPrivate(e *dicom.Element, depth int, strict bool) (*dicom.Element, error) {
	return d.byVR(e, depth, strict)
}

// keep returns e unchanged, except that sequences are walked (K on a
// sequence: keep it, cleaned item by item).
func (d *deid) keep(e *dicom.Element, depth int, strict bool) (*dicom.Element, error) {
	if e.Value == nil || e.Value.ValueType() != dicom.Sequences {
		return e, nil
	}
	return d.walkSequence(e, depth, strict)
}

func (d *deid) walkSequence(e *dicom.Element, depth int, strict bool) (*dicom.Element, error) {
	items, _ := e.Value.GetValue().([]*dicom.SequenceItemValue)
	newItems := make([][]*dicom.Element, 0, len(items))
	for _, it := range items {
		sub, _ := it.GetValue().([]*dicom.Element)
		w, err := d.walk(sub, depth+1, strict)
		if err != nil {
			return nil, err
		}
		newItems = append(newItems, w)
	}
	return withValue(e, newItems), nil
}

// action resolves the code for one attribute under the chosen options.
func (d *deid) action(row annexe.Row, t uint32, isSeq bool) byte {
	pick := func(c annexe.Code, on bool) (annexe.Code, bool) { return c, on && c != "" }
	candidates := []struct {
		c  annexe.Code
		on bool
	}{
		{row.RetainLongitudinalFullDates, d.opts.RetainLongitudinalFullDates},
		{row.RetainLongitudinalModifiedDates, d.opts.RetainLongitudinalModifiedDates},
		{row.RetainDeviceIdentity, d.opts.RetainDeviceIdentity},
		{row.RetainPatientCharacteristics, d.opts.RetainPatientCharacteristics},
		{row.CleanDescriptors, d.opts.CleanDescriptors},
		{row.CleanStructuredContent, d.opts.CleanStructuredContent},
		{row.CleanGraphics, d.opts.CleanGraphics},
	}
	for _, c := range candidates {
		if code, ok := pick(c.c, c.on); ok {
			if code == "C" && !isSeq && !isDateRow(row) && d.cfg.Clean == nil {
				continue // no cleaner: fall back to the basic action
			}
			return code[0]
		}
	}
	if d.enhanced && enhancedType1[t] {
		return 'D' // Type 1 in the Enhanced General Equipment module
	}
	if isSeq && strings.Contains(string(row.Basic), "U*") {
		// X/Z/U* on a reference sequence (Referenced Image, Source Image):
		// the sequence is kept with its instance UIDs replaced, which keeps
		// the IOD conformant (Type 1 in presentation states) and the
		// relationships between instances (PS3.15 E.1).
		return 'U'
	}
	return resolve(row.Basic, t, d.sr)
}

func isDateRow(row annexe.Row) bool { return row.RetainLongitudinalModifiedDates != "" }

// apply performs the action of one listed attribute. A nil element means
// removed.
//
// On a sequence (PS3.15 E.1, the action applies to the whole sequence): X
// removes it, Z empties it, K and U keep it cleaned item by item, D
// replaces it with a dummy sequence of the same items in which every value
// is itself de-identified and free text the table does not name becomes a
// dummy (strict), and C (a Clean option: Structured Content, Graphics,
// Descriptors) keeps the tree with such text scrubbed instead.
func (d *deid) apply(e *dicom.Element, row annexe.Row, depth int, strict bool) (*dicom.Element, error) {
	t := uint32(e.Tag.Group)<<16 | uint32(e.Tag.Element)
	isSeq := e.Value != nil && e.Value.ValueType() == dicom.Sequences
	switch d.action(row, t, isSeq) {
	case 'K':
		if !isSeq && row.Basic != "K" && e.Value.ValueType() == dicom.Strings {
			switch v := vr(e); v {
			case "LO", "SH", "LT", "ST", "UT", "UC":
				// kept by an option (an ethnic group, a smoking status):
				// free text is still scrubbed.
				in, _ := e.Value.GetValue().([]string)
				return d.scrubValues(e, in, v), nil
			}
		}
		return d.keep(e, depth, strict)
	case 'X':
		return nil, nil
	case 'Z':
		return zero(e), nil
	case 'U':
		if isSeq {
			return d.walkSequence(e, depth, strict)
		}
		return d.remapUIDs(e), nil
	case 'D':
		if isSeq {
			return d.walkSequence(e, depth, true)
		}
		if vr(e) == "UI" {
			return d.remapUIDs(e), nil
		}
		return dummy(e), nil
	case 'C':
		if isSeq {
			return d.walkSequence(e, depth, false)
		}
		if isDateRow(row) {
			return d.shiftDates(e), nil
		}
		return d.clean(e), nil
	}
	return nil, nil // unknown code: remove
}

// knownType is the attribute type (1, 2 or 3) in the common composite image
// IODs for attributes with combined codes; it decides X/Z/D.
var knownType = map[uint32]byte{
	0x00080012: '3', 0x00080013: '3', 0x00080021: '3', 0x00080031: '3', 0x00080022: '3',
	0x00080032: '3', 0x0008002A: '3', 0x00080080: '3', 0x00080082: '3', 0x00081010: '3',
	0x00081072: '3', 0x00081110: '3', 0x00081111: '3', 0x00081140: '3',
	0x00082112: '3', 0x00181000: '3', 0x00181030: '3', 0x00181400: '3', 0x0018700A: '3',
	0x0018700C: '3', 0x0018700E: '3', 0x00102203: '3', 0x00321060: '3',
	0x00080023: '2', 0x00080033: '2', 0x00180010: '2', 0x00400555: '2', 0x00700084: '2',
	0x00100020: '2',
}

// enhancedType1 are the X/Z/D attributes of the Enhanced General Equipment
// module, Type 1 in enhanced multi-frame IODs (PS3.3 C.7.5.2).
var enhancedType1 = map[uint32]bool{0x00181000: true}

// resolve turns a basic profile code into one action: by the attribute's
// type where known (Type 1: D or U, Type 2: Z, Type 3: X), else the safer
// action in the order X, Z, D, U.
func resolve(code annexe.Code, t uint32, sr bool) byte {
	parts := strings.Split(string(code), "/")
	if len(parts) == 1 {
		if code == "" {
			return 'X'
		}
		return code[0]
	}
	has := func(c byte) bool {
		for _, p := range parts {
			if p != "" && p[0] == c {
				return true
			}
		}
		return false
	}
	typ := knownType[t]
	if sr && (t == 0x00080023 || t == 0x00080033) {
		typ = '1' // Content Date/Time are Type 1 in SR documents
	}
	switch {
	case typ == '1' && has('D'):
		return 'D'
	case typ == '1' && has('U'):
		return 'U'
	case typ == '3' && has('X'):
		return 'X'
	case has('Z'):
		// Empty is never identifying and valid for Type 2 and Type 3
		// attributes alike, whatever the IOD (Operators' Name is Type 3 in
		// General Series, Type 2 in RT Series).
		return 'Z'
	}
	for _, c := range []byte{'X', 'Z', 'D', 'U'} {
		if has(c) {
			return c
		}
	}
	return 'X'
}

func vr(e *dicom.Element) string { return strings.ToUpper(e.RawValueRepresentation) }

// zero returns e with an empty value of the same kind.
func zero(e *dicom.Element) *dicom.Element {
	switch e.Value.ValueType() {
	case dicom.Strings:
		return withValue(e, []string{""})
	case dicom.Ints:
		return withValue(e, []int{})
	case dicom.Floats:
		return withValue(e, []float64{})
	case dicom.Sequences:
		return withValue(e, [][]*dicom.Element{})
	default:
		return withValue(e, []byte{})
	}
}

// dummy returns e with a dummy value consistent with its VR.
func dummy(e *dicom.Element) *dicom.Element {
	switch e.Value.ValueType() {
	case dicom.Strings:
		var v string
		switch vr(e) {
		case "PN":
			v = "ANONYMOUS"
		case "DA":
			v = "19000101"
		case "TM":
			v = "000000"
		case "DT":
			v = "19000101000000"
		case "IS", "DS":
			v = "0"
		case "AS":
			v = "000D"
		case "UI":
			v = "2.25.0"
		default:
			v = "ANONYMIZED"
		}
		return withValue(e, []string{v})
	case dicom.Ints:
		return withValue(e, []int{0})
	case dicom.Floats:
		return withValue(e, []float64{0})
	case dicom.Sequences:
		return withValue(e, [][]*dicom.Element{})
	default:
		return withValue(e, []byte{0, 0})
	}
}

func (d *deid) mapUID(u string) string {
	u = strings.TrimRight(strings.TrimSpace(u), "\x00")
	if u == "" {
		return ""
	}
	m := d.o.UIDs(u)
	// A keyed UID is ~39 random decimal digits: by chance it may spell one
	// of the person's identifiers (a compact birth date 19570323 was seen
	// inside a remapped SOP Instance UID, and the residual scan then
	// quarantined a clean file). Such a UID is derived again from the
	// original and a counter: deterministic, so every file of the person
	// maps the original to the same value (SEC-PSE-4, safe by construction).
	for i := 1; i <= maxUIDRederive && m != u && masking.Spells([]byte(m), d.p); i++ {
		m = d.o.UIDs(u + "#" + strconv.Itoa(i))
	}
	return m
}

// maxUIDRederive bounds the re-derivations of a keyed UID that spells an
// identifier (each has a chance below 1e-6 of doing so again); past it the
// residual scan quarantines the file, fail closed.
const maxUIDRederive = 8

// remapUIDs maps every UID value of e with the keyed mapper.
func (d *deid) remapUIDs(e *dicom.Element) *dicom.Element {
	switch e.Value.ValueType() {
	case dicom.Strings:
		in, _ := e.Value.GetValue().([]string)
		out := make([]string, len(in))
		for i, u := range in {
			out[i] = d.mapUID(u)
		}
		return withValue(e, out)
	case dicom.Bytes: // UN in implicit files with unknown dictionary entries
		u := d.mapUID(firstString(e))
		b := []byte(u)
		if len(b)%2 == 1 {
			b = append(b, 0)
		}
		return withValue(e, b)
	}
	return zero(e)
}

// shiftDates applies the person's keyed date shift to DA and DT values;
// times are kept (the shift is whole days). A value that does not parse
// is emptied.
func (d *deid) shiftDates(e *dicom.Element) *dicom.Element {
	if e.Value.ValueType() != dicom.Strings {
		return zero(e)
	}
	in, _ := e.Value.GetValue().([]string)
	v := vr(e)
	if v != "DA" && v != "DT" {
		if v == "TM" {
			return e
		}
		return zero(e)
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(strings.TrimRight(s, "\x00"))
		if s == "" {
			out = append(out, "")
			continue
		}
		shifted, ok := shiftDate(s, d.p.DateShiftDays)
		if !ok {
			return zero(e)
		}
		out = append(out, shifted)
	}
	return withValue(e, out)
}

// shiftDate shifts the YYYYMMDD prefix of a DA or DT value (or the
// ACR-NEMA YYYY.MM.DD form) by days; the rest of a DT is kept if it holds
// only time and offset characters.
func shiftDate(s string, days int) (string, bool) {
	if len(s) >= 10 && s[4] == '.' && s[7] == '.' {
		s = s[:4] + s[5:7] + s[8:]
	}
	if len(s) < 8 || s[4] == '-' {
		return "", false
	}
	return masking.ShiftDate(s, days) // the warehouse's one date policy
}

// clean scrubs free text with the configured cleaner.
func (d *deid) clean(e *dicom.Element) *dicom.Element {
	if e.Value.ValueType() != dicom.Strings || d.cfg.Clean == nil {
		return nil
	}
	in, _ := e.Value.GetValue().([]string)
	return d.scrubValues(e, in, vr(e))
}

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

func replace(els []*dicom.Element, e *dicom.Element) []*dicom.Element {
	for i, x := range els {
		if x.Tag == e.Tag {
			els[i] = e
			return els
		}
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

func sortElements(els []*dicom.Element) {
	sort.SliceStable(els, func(i, j int) bool {
		a, b := els[i].Tag, els[j].Tag
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		return a.Element < b.Element
	})
}
