package dcm

import (
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"

	"hdw/masking"
	"hdw/masking/dcm/internal/annexe"
)

// The Annex E actions on one attribute: the code chosen under the
// options (action, resolve), then applied (apply): keep, remove, empty,
// dummy, remapped UIDs, shifted dates, cleaned text.

// action resolves the code for one attribute under the chosen options.
func (d *deid) action(row *annexe.Row, t uint32, isSeq bool) byte {
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

func isDateRow(row *annexe.Row) bool { return row.RetainLongitudinalModifiedDates != "" }

// apply performs the action of one listed attribute. A nil element means
// removed. (The row, two hundred bytes, is passed by its address: it was
// copied at each call.)
//
// On a sequence (PS3.15 E.1, the action applies to the whole sequence): X
// removes it, Z empties it, K and U keep it cleaned item by item, D
// replaces it with a dummy sequence of the same items in which every value
// is itself de-identified and free text the table does not name becomes a
// dummy (strict), and C (a Clean option: Structured Content, Graphics,
// Descriptors) keeps the tree with such text scrubbed instead.
func (d *deid) apply(e *dicom.Element, row *annexe.Row, depth int, strict bool) (*dicom.Element, error) {
	t := uint32(e.Tag.Group)<<16 | uint32(e.Tag.Element)
	isSeq := e.Value != nil && e.Value.ValueType() == dicom.Sequences
	switch d.action(row, t, isSeq) {
	case 'K':
		if !isSeq && row.Basic != "K" && e.Value.ValueType() == dicom.Strings {
			switch v := vr(e); v {
			case "LO", "SH", "LT", "ST", "UT", "UC":
				// kept by an option (an ethnic group, a smoking status):
				// free text is still scrubbed.
				in := stringsOf(e.Value)
				return d.scrubValues(e, in, v), nil
			}
		}
		return d.keep(e, depth, strict)
	case 'X':
		return nil, nil
	case 'Z':
		return d.zero(e), nil
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
		return d.dummy(e), nil
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
	if strings.IndexByte(string(code), '/') < 0 {
		if code == "" {
			return 'X'
		}
		return code[0]
	}
	// has reports whether one of the codes separated by "/" starts with c.
	has := func(c byte) bool {
		for i := 0; i < len(code); i++ {
			if code[i] == c && (i == 0 || code[i-1] == '/') {
				return true
			}
		}
		return false
	}
	return pick(has, t, sr)
}

// pick chooses among the codes has reports, by the attribute's type where
// known.
func pick(has func(byte) bool, t uint32, sr bool) byte {
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

// vr is e's VR in upper case: as it is when it is two upper-case letters
// (every VR a parser reads, asked for several times per element; ToUpper
// reads it again each time), else through strings.ToUpper.
func vr(e *dicom.Element) string {
	v := e.RawValueRepresentation
	if len(v) == 2 && 'A' <= v[0] && v[0] <= 'Z' && 'A' <= v[1] && v[1] <= 'Z' {
		return v
	}
	return strings.ToUpper(v)
}

// emptyValue is the empty value of e's kind (not a sequence).
func emptyValue(e *dicom.Element) dicom.Value {
	switch e.Value.ValueType() {
	case dicom.Strings:
		return emptyValues.strs
	case dicom.Ints:
		return emptyValues.ints
	case dicom.Floats:
		return emptyValues.floats
	default:
		return emptyValues.bytes
	}
}

// emptyValues are the empty values deid.zero gives, shared by every output
// (values are never modified in place).
var emptyValues = func() (e struct{ strs, ints, floats, bytes dicom.Value }) {
	e.strs, _ = dicom.NewValue([]string{""})
	e.ints, _ = dicom.NewValue([]int{})
	e.floats, _ = dicom.NewValue([]float64{})
	e.bytes, _ = dicom.NewValue([]byte{})
	return e
}()

// dummy returns e with a dummy value consistent with its VR.
func (d *deid) dummy(e *dicom.Element) *dicom.Element {
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
		return d.withStrings(e, d.one(v))
	case dicom.Ints:
		return d.withValue(e, []int{0})
	case dicom.Floats:
		return d.withValue(e, []float64{0})
	case dicom.Sequences:
		return d.with(e, d.ar.sequence(nil))
	default:
		return d.withValue(e, []byte{0, 0})
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
	for i := 1; i <= maxUIDRederive && m != u && d.speller().Spells([]byte(m)); i++ {
		m = d.o.UIDs(u + "#" + strconv.Itoa(i))
	}
	return m
}

// speller returns the file's masking.Speller for the person, made at the
// first UID (masking.Spells looked the person's needles up for each UID).
func (d *deid) speller() *masking.Speller {
	if !d.spellerMade {
		d.spell, d.spellerMade = masking.NewSpeller(d.p), true
	}
	return &d.spell
}

// maxUIDRederive bounds the re-derivations of a keyed UID that spells an
// identifier (each has a chance below 1e-6 of doing so again); past it the
// residual scan quarantines the file, fail closed.
const maxUIDRederive = 8

// remapUIDs maps every UID value of e with the keyed mapper.
func (d *deid) remapUIDs(e *dicom.Element) *dicom.Element {
	switch e.Value.ValueType() {
	case dicom.Strings:
		in := stringsOf(e.Value)
		if len(in) == 1 {
			return d.withStrings(e, d.one(d.mapUID(in[0])))
		}
		out := make([]string, len(in))
		for i, u := range in {
			out[i] = d.mapUID(u)
		}
		return d.withStrings(e, out)
	case dicom.Bytes: // UN in implicit files with unknown dictionary entries
		u := d.mapUID(firstString(e))
		b := []byte(u)
		if len(b)%2 == 1 {
			b = append(b, 0)
		}
		return d.withValue(e, b)
	}
	return d.zero(e)
}

// shiftDates applies the person's keyed date shift to DA and DT values;
// times are kept (the shift is whole days). A value that does not parse
// is emptied.
func (d *deid) shiftDates(e *dicom.Element) *dicom.Element {
	if e.Value.ValueType() != dicom.Strings {
		return d.zero(e)
	}
	in := stringsOf(e.Value)
	v := vr(e)
	if v != "DA" && v != "DT" {
		if v == "TM" {
			return e
		}
		return d.zero(e)
	}
	var out []string
	if len(in) == 1 {
		out = d.one("")[:0]
	} else {
		out = make([]string, 0, len(in))
	}
	for _, s := range in {
		s = strings.TrimSpace(strings.TrimRight(s, "\x00"))
		if s == "" {
			out = append(out, "")
			continue
		}
		shifted, ok := shiftDate(s, d.p.DateShiftDays)
		if !ok {
			return d.zero(e)
		}
		out = append(out, shifted)
	}
	return d.withStrings(e, out)
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
	in := stringsOf(e.Value)
	return d.scrubValues(e, in, vr(e))
}
