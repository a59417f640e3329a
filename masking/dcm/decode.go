package dcm

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/charset"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// Decoding a whole Part 10 file held in memory into the dataset that
// dicom.Parse(..., SkipPixelData or SkipProcessingPixelDataValue,
// AllowUnknownSpecificCharacterSet) of suyashkumar/dicom v1.1.0 returns
// for it, element for element, without its per-element costs (a debug
// message formatted for every tag, a buffered reader, encoding/binary's
// reflection, a limit stack). The library stays the oracle
// (FuzzCodecMatchesLibrary) and the fallback: anything this decoder does
// not reproduce exactly (a missing or deflated transfer syntax, non-ASCII
// text under a declared character set, odd lengths the library rejects,
// undefined lengths outside sequences and pixel data, delimiters out of
// place, values past their container) returns errNotFast and the file goes
// to the library's parser.

// decoder reads elements from b.
type decoder struct {
	b          []byte
	pos        int
	bo         order
	implicit   bool
	decoding   bool // a character set decoder applies: only ASCII text is read here
	skipPixels bool

	// Allocation in blocks: elements, one-value lists and text are carved
	// out of shared arrays and strings (a small file has a few hundred
	// elements; one allocation each was most of the decoder's cost), the
	// arrays from a recycled arena (arena.go).
	ar       *arena
	intBlock []int
	// win is a copy of b[winAt:winAt+len(win)] that text values are
	// sliced from; a window that starts before textEnd ends before it
	// (the native pixel value, which is not text).
	win     string
	winAt   int
	textEnd int
}

// blockLen is the number of elements or values allocated at once.
const blockLen = 64

// textWindow is the least number of bytes copied at once for text values.
const textWindow = 4096

func (d *decoder) newElement() *dicom.Element { return d.ar.newElement() }

// one returns a list of one string, s.
func (d *decoder) one(s string) []string { return d.ar.one(s) }

// intList returns a list of n ints.
func (d *decoder) intList(n int) []int { return carve(&d.ar.ints, &d.intBlock, n) }

// decodeDataset decodes the whole file b, carving the dataset out of ar
// (a new arena when nil). textEnd, when above 0, is where the top-level
// native pixel value starts: text is not copied from past it.
func decodeDataset(b []byte, skipPixels bool, ar *arena, textEnd int) (dicom.Dataset, error) {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return dicom.Dataset{}, errNotFast
	}
	if ar == nil {
		ar = newArena()
	}
	if textEnd <= 0 || textEnd > len(b) {
		textEnd = len(b)
	}
	d := &decoder{b: b, pos: 132, bo: littleEndian, skipPixels: skipPixels, ar: ar, textEnd: textEnd}
	gl, err := d.element(len(b), nil)
	if err != nil {
		return dicom.Dataset{}, err
	}
	n := intsOf(gl.Value)
	if gl.Tag != tag.FileMetaInformationGroupLength || len(n) == 0 || n[0] < 0 || n[0] > len(b)-d.pos {
		return dicom.Dataset{}, errNotFast
	}
	els := ar.top[:0]
	if cap(els) == 0 {
		els = make([]*dicom.Element, 0, 64)
	}
	els = append(els, gl)
	metaEnd := d.pos + n[0]
	for d.pos < metaEnd {
		e, err := d.element(metaEnd, nil)
		if err != nil {
			return dicom.Dataset{}, err
		}
		els = append(els, e)
	}
	ts := findTop(els, tag.TransferSyntaxUID)
	if ts == nil {
		return dicom.Dataset{}, errNotFast
	}
	s := stringsOf(ts.Value)
	if len(s) == 0 || s[0] == uid.DeflatedExplicitVRLittleEndian {
		return dicom.Dataset{}, errNotFast
	}
	bo, implicit, err := uid.ParseTransferSyntaxUID(s[0])
	if err != nil {
		return dicom.Dataset{}, errNotFast
	}
	d.implicit = implicit
	if bo == binary.BigEndian {
		d.bo = bigEndian
	}
	for d.pos < len(b) {
		e, err := d.element(len(b), nil)
		if err != nil {
			return dicom.Dataset{}, err
		}
		if e.Tag.Group == 0xFFFE {
			return dicom.Dataset{}, errNotFast // items and delimiters out of place
		}
		if e.Tag == tag.SpecificCharacterSet {
			if e.Value.ValueType() != dicom.Strings {
				return dicom.Dataset{}, errNotFast
			}
			names := stringsOf(e.Value)
			cs, _ := charset.ParseSpecificCharacterSet(names)
			d.decoding = cs.Ideographic != nil
		}
		els = append(els, e)
	}
	ar.top = els
	return dicom.Dataset{Elements: els}, nil
}

// vrTable interns the explicit VRs, by letters.
var vrTable = func() (t [26 * 26]string) {
	for _, vr := range []string{"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF",
		"OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"} {
		t[int(vr[0]-'A')*26+int(vr[1]-'A')] = vr
	}
	return t
}()

// vrName returns the interned VR of two bytes, or "" if it is not one.
func vrName(a, b byte) string {
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' {
		return ""
	}
	return vrTable[int(a-'A')*26+int(b-'A')]
}

// header reads a tag, VR and value length ending before end.
func (d *decoder) header(end int) (tag.Tag, string, uint32, error) {
	if d.pos+8 > end {
		return tag.Tag{}, "", 0, errNotFast
	}
	b := d.b[d.pos:]
	t := tag.Tag{Group: d.bo.Uint16(b), Element: d.bo.Uint16(b[2:])}
	if d.implicit || t == tag.Item {
		d.pos += 8
		return t, implicitVR(t), d.bo.Uint32(b[4:]), nil
	}
	vr := vrName(b[4], b[5])
	if vr == "" {
		if d.decoding && (b[4] >= 0x80 || b[5] >= 0x80 || b[4] == 0x1B || b[5] == 0x1B) {
			return tag.Tag{}, "", 0, errNotFast
		}
		vr = string(b[4:6])
	}
	if longVL(vr) {
		if d.pos+12 > end {
			return tag.Tag{}, "", 0, errNotFast
		}
		vl := d.bo.Uint32(b[8:])
		if vl == tag.VLUndefinedLength && (vr == "UC" || vr == "UR" || vr == "UT") {
			return tag.Tag{}, "", 0, errNotFast
		}
		d.pos += 12
		return t, vr, vl, nil
	}
	vl := uint32(d.bo.Uint16(b[6:]))
	if vl == 0xFFFF {
		vl = tag.VLUndefinedLength
	}
	d.pos += 8
	return t, vr, vl, nil
}

// take returns the next vl bytes before end.
func (d *decoder) take(vl uint32, end int) ([]byte, error) {
	e, err := d.within(vl, end)
	if err != nil {
		return nil, err
	}
	v := d.b[d.pos:e]
	d.pos = e
	return v, nil
}

// isDelimiter reports an item or sequence delimitation item.
func isDelimiter(t tag.Tag) bool {
	return t == tag.ItemDelimitationItem || t == tag.SequenceDelimitationItem
}

// element reads one element ending before end; until, when set, is the
// delimiter that ends the undefined-length container being read (its
// element is returned with a nil value).
func (d *decoder) element(end int, until *tag.Tag) (*dicom.Element, error) {
	if d.pos+8 <= end {
		t := tag.Tag{Group: d.bo.Uint16(d.b[d.pos:]), Element: d.bo.Uint16(d.b[d.pos+2:])}
		if isDelimiter(t) {
			// The library reads a delimiter as an element of the current
			// syntax: 8 bytes when its length is 0, as it should be.
			if until == nil || t != *until || binary.LittleEndian.Uint32(d.b[d.pos+4:]) != 0 {
				return nil, errNotFast
			}
			d.pos += 8
			e := d.newElement()
			e.Tag = t
			return e, nil
		}
	}
	t, vr, vl, err := d.header(end)
	if err != nil {
		return nil, err
	}
	kind := tag.GetVRKind(t, vr) // once for the value and the element
	v, err := d.value(kind, vr, vl, end)
	if err != nil {
		return nil, err
	}
	e := d.newElement()
	*e = dicom.Element{Tag: t, ValueRepresentation: kind, RawValueRepresentation: vr, ValueLength: vl, Value: v}
	return e, nil
}

// value reads the value of an element of kind (tag.GetVRKind of its tag
// and vr).
func (d *decoder) value(kind tag.VRKind, vr string, vl uint32, end int) (dicom.Value, error) {
	switch kind {
	case tag.VRBytes:
		return d.bytes(vr, vl, end)
	case tag.VRDate:
		s, err := d.takeText(vl, end)
		if err != nil {
			return nil, err
		}
		return newValue(&d.ar.vals.strs, d.one(trimSpaceNul(s))), nil
	case tag.VRUInt16List, tag.VRUInt32List, tag.VRInt16List, tag.VRInt32List, tag.VRTagList:
		return d.ints(vr, vl, end)
	case tag.VRFloat32List, tag.VRFloat64List:
		return d.floats(vr, vl, end)
	case tag.VRSequence:
		return d.sequence(vl, end)
	case tag.VRPixelData:
		return d.pixels(vl, end)
	case tag.VRUnknown:
		if vl == tag.VLUndefinedLength {
			return d.sequence(vl, end)
		}
		return d.bytes(vr, vl, end)
	case tag.VRItem:
		return nil, errNotFast // an item outside a sequence
	}
	return d.strings(vl, end)
}

// text converts a string value as the library's reader does.
func (d *decoder) text(raw []byte) (string, error) {
	if d.decoding && !plainASCII(raw) {
		return "", errNotFast
	}
	if len(raw) == 0 {
		return "", nil
	}
	at := d.pos - len(raw) // raw was just taken from b
	if at < d.winAt || at+len(raw) > d.winAt+len(d.win) {
		lim := len(d.b)
		if at < d.textEnd {
			lim = d.textEnd
		}
		d.winAt = at
		d.win = string(d.b[at : at+max(len(raw), min(textWindow, lim-at))])
	}
	return d.win[at-d.winAt : at-d.winAt+len(raw)], nil
}

// takeText takes the next vl bytes (up to end) as a string value (text).
func (d *decoder) takeText(vl uint32, end int) (string, error) {
	raw, err := d.take(vl, end)
	if err != nil {
		return "", err
	}
	return d.text(raw)
}

func (d *decoder) strings(vl uint32, end int) (dicom.Value, error) {
	str, err := d.takeText(vl, end)
	if err != nil {
		return nil, err
	}
	if !allSpace(str) {
		str = trimSpaceNul(str)
	}
	if strings.IndexByte(str, '\\') < 0 {
		return newValue(&d.ar.vals.strs, d.one(str)), nil
	}
	return newValue(&d.ar.vals.strs, d.ar.split(str)), nil
}

func (d *decoder) bytes(vr string, vl uint32, end int) (dicom.Value, error) {
	raw, err := d.take(vl, end)
	if err != nil {
		return nil, err
	}
	switch vr {
	case "OB", "UN":
		return newValue(&d.ar.vals.bytes, d.ar.clone(raw)), nil
	case "OW":
		if vl%2 != 0 {
			return nil, errNotFast
		}
		v := d.ar.clone(raw)
		if d.bo.big {
			for i := 0; i+1 < len(v); i += 2 { // read big endian, kept little endian
				v[i], v[i+1] = v[i+1], v[i]
			}
		}
		return newValue(&d.ar.vals.bytes, v), nil
	}
	return nil, errNotFast
}

func (d *decoder) ints(vr string, vl uint32, end int) (dicom.Value, error) {
	size := 4
	if vr == "US" || vr == "AT" || vr == "SS" {
		size = 2
	} else if vr != "UL" && vr != "SL" {
		return nil, errNotFast
	}
	raw, err := d.take(vl, end)
	if err != nil || len(raw)%size != 0 {
		return nil, errNotFast
	}
	v := d.intList(len(raw) / size)
	for i := range v {
		switch vr {
		case "US", "AT":
			v[i] = int(d.bo.Uint16(raw[2*i:]))
		case "SS":
			v[i] = int(int16(d.bo.Uint16(raw[2*i:])))
		case "UL":
			v[i] = int(d.bo.Uint32(raw[4*i:]))
		case "SL":
			v[i] = int(int32(d.bo.Uint32(raw[4*i:])))
		}
	}
	return newValue(&d.ar.vals.ints, v), nil
}

func (d *decoder) floats(vr string, vl uint32, end int) (dicom.Value, error) {
	size := 8
	if vr == "FL" {
		size = 4
	}
	raw, err := d.take(vl, end)
	if err != nil || len(raw)%size != 0 {
		return nil, errNotFast
	}
	v := make([]float64, len(raw)/size)
	for i := range v {
		if size == 8 {
			v[i] = math.Float64frombits(d.bo.Uint64(raw[8*i:]))
			continue
		}
		// The library widens through the shortest decimal form of the
		// float32 (fmt.Sprint then strconv.ParseFloat).
		f := math.Float32frombits(d.bo.Uint32(raw[4*i:]))
		w, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
		if err != nil {
			return nil, errNotFast
		}
		v[i] = w
	}
	return newValue(&d.ar.vals.floats, v), nil
}

// allSpace reports whether s is only white space (unicode.IsSpace), true
// when empty. A value that starts with a printable ASCII byte is not
// (most values: their runes are not decoded one by one).
func allSpace(s string) bool {
	if len(s) > 0 && s[0] > ' ' && s[0] < utf8.RuneSelf {
		return false
	}
	for _, c := range s {
		if !unicode.IsSpace(c) {
			return false
		}
	}
	return true
}

// plainASCII reports whether b holds only ASCII bytes and no escape
// (0x1B), which text under a declared character set must be to be read
// here: eight bytes at a time for the high bits (each text value of a
// UTF-8 file was checked byte by byte, 2% of a small slice).
func plainASCII(b []byte) bool {
	if bytes.IndexByte(b, 0x1B) >= 0 {
		return false
	}
	for ; len(b) >= 8; b = b[8:] {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
	}
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// trimSpaceNul is strings.Trim(s, " \x00") without building its cutset
// at every value.
func trimSpaceNul(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == 0) {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == 0) {
		j--
	}
	return s[i:j]
}

// clone copies b into a new slice, empty but not nil when b is empty (as
// the library allocates values).
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
