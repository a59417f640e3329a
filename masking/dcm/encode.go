package dcm

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sync/atomic"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// Encoding a dataset into bytes in one buffer: the same bytes as
// dicom.Write(ds, dicom.SkipVRVerification()) of suyashkumar/dicom v1.1.0
// (which stays the oracle: FuzzCodecMatchesLibrary compares the two), at a
// fraction of its cost (it buffers every value in a new bytes.Buffer and
// writes every integer through encoding/binary's reflection). Whatever the
// encoder does not reproduce exactly (native frames, a lone item, a VR of
// the wrong length, anything the library would refuse) returns
// errNotFast, and the caller writes with the library instead.

// errNotFast sends a file or a dataset back to the library's parser or
// writer.
var errNotFast = errors.New("dcm: not for the fast codec")

// encoder appends elements to buf.
type encoder struct {
	buf      []byte
	bo       order
	implicit bool
}

// encodeDataset appends the Part 10 encoding of ds to buf.
func encodeDataset(buf []byte, ds dicom.Dataset) ([]byte, error) {
	e := &encoder{buf: buf, bo: littleEndian}
	// The file meta group, explicit little endian: four elements in a fixed
	// order, then the other group 2 elements in theirs.
	used := [4]tag.Tag{tag.FileMetaInformationVersion, tag.MediaStorageSOPClassUID, tag.MediaStorageSOPInstanceUID, tag.TransferSyntaxUID}
	e.buf = append(e.buf, make([]byte, 128)...)
	e.buf = append(e.buf, "DICM"...)
	e.buf = append(e.buf, 2, 0, 0, 0, 'U', 'L', 4, 0, 0, 0, 0, 0)
	metaStart := len(e.buf)
	var ts *dicom.Element
	for i, t := range used {
		el := findTop(ds.Elements, t)
		if el == nil {
			if i == 3 {
				return nil, errNotFast // the library refuses a missing transfer syntax
			}
			continue
		}
		if i == 3 {
			ts = el
			if el.Value == nil {
				return nil, errNotFast
			}
			if s := stringsOf(el.Value); len(s) > 0 && s[0] == uid.DeflatedExplicitVRLittleEndian {
				return nil, errNotFast
			}
		}
		if err := e.element(el); err != nil {
			return nil, err
		}
	}
	for _, el := range ds.Elements {
		if el.Tag.Group != 2 || el.Tag == tag.FileMetaInformationGroupLength ||
			el.Tag == used[0] || el.Tag == used[1] || el.Tag == used[2] || el.Tag == used[3] {
			continue
		}
		if err := e.element(el); err != nil {
			return nil, err
		}
	}
	binary.LittleEndian.PutUint32(e.buf[metaStart-4:], uint32(len(e.buf)-metaStart))
	s := stringsOf(ts.Value)
	if len(s) != 1 {
		return nil, errNotFast
	}
	bo, implicit, err := uid.ParseTransferSyntaxUID(s[0])
	if err != nil {
		return nil, errNotFast
	}
	e.implicit = implicit
	if bo == binary.BigEndian {
		e.bo = bigEndian
	}
	for _, el := range ds.Elements {
		if el.Tag.Group == 2 {
			continue
		}
		if err := e.element(el); err != nil {
			return nil, err
		}
	}
	return e.buf, nil
}

// findTop is Dataset.FindElementByTag: the first top-level element of t.
func findTop(els []*dicom.Element, t tag.Tag) *dicom.Element {
	for _, e := range els {
		if e.Tag == t {
			return e
		}
	}
	return nil
}

// dictEntry is what the de-identifier needs of the dictionary for a tag:
// its VRs (nil when the dictionary does not know it).
type dictEntry struct {
	t   tag.Tag
	vrs []string
}

// dictCache is a direct-mapped cache of dictEntry, shared by every worker:
// tag.Find formats an error for every tag it does not know, and a sync.Map
// lookup per element was about 1% of a small slice (issue 19's speed). A
// set holds the last two tags that hashed to it, the newest first (with
// one, tags of the same CT slice evicted each other at every file); a miss
// asks tag.Find again. Entries never change once stored: a lost update
// between workers is a later miss, never a wrong answer.
var dictCache [1024][2]atomic.Pointer[dictEntry]

func dictVRs(t tag.Tag) []string {
	set := &dictCache[(uint32(t.Group)*0x9E37+uint32(t.Element)*0x85EB)&1023]
	if e := set[0].Load(); e != nil && e.t == t {
		return e.vrs
	}
	if e := set[1].Load(); e != nil && e.t == t {
		return e.vrs
	}
	e := &dictEntry{t: t}
	if info, err := tag.Find(t); err == nil && len(info.VRs) > 0 {
		e.vrs = info.VRs
	}
	set[1].Store(set[0].Load())
	set[0].Store(e)
	return e.vrs
}

// vrOf is the dictionary's first VR of a tag ("UN" when unknown).
func vrOf(t tag.Tag) string {
	if vrs := dictVRs(t); vrs != nil {
		return vrs[0]
	}
	return "UN"
}

// vrAllowed reports whether vr may encode t: one of the dictionary's VRs
// of a public attribute, OB or OW for pixel data, UN (read by the
// dictionary's VR elsewhere), or any VR for a tag the dictionary does not
// know (decided by VR rule).
func vrAllowed(t tag.Tag, vr string) bool {
	if vr == "UN" || t.Group%2 == 1 {
		return true
	}
	vrs := dictVRs(t)
	if vrs == nil || slices.Contains(vrs, vr) {
		return true
	}
	return t == tag.PixelData && (vr == "OB" || vr == "OW")
}

// typeMatches is the library's check of a value's type against its VR.
func typeMatches(t tag.Tag, vt dicom.ValueType, vr string) bool {
	switch vr {
	case "US", "UL", "SL", "SS", "AT":
		return vt == dicom.Ints
	case "SQ":
		return vt == dicom.Sequences
	case "NA":
		return vt == dicom.SequenceItem
	case "OW", "OB":
		if t == tag.PixelData {
			return vt == dicom.PixelData
		}
		return vt == dicom.Bytes
	case "UN":
		return vt == dicom.Bytes || vt == dicom.Sequences
	case "FL", "FD":
		return vt == dicom.Floats
	}
	return vt == dicom.Strings
}

// header appends an element header with a zero length and returns where
// the length goes and its width (2 or 4 bytes).
func (e *encoder) header(t tag.Tag, vr string) (at, width int) {
	e.buf = e.bo.AppendUint16(e.buf, t.Group)
	e.buf = e.bo.AppendUint16(e.buf, t.Element)
	if e.implicit || t.Group == 0xFFFE {
		e.buf = append(e.buf, 0, 0, 0, 0)
		return len(e.buf) - 4, 4
	}
	e.buf = append(e.buf, vr...)
	if longVL(vr) {
		e.buf = append(e.buf, 0, 0, 0, 0, 0, 0)
		return len(e.buf) - 4, 4
	}
	e.buf = append(e.buf, 0, 0)
	return len(e.buf) - 2, 2
}

// setLength writes vl into the header field at (at, width), as the library
// does: an odd length is refused, a sequence is always of undefined length,
// and the 16-bit field of a short VR keeps the low bits.
func (e *encoder) setLength(t tag.Tag, vr string, at, width int, vl uint32) error {
	if vl%2 != 0 && vl != tag.VLUndefinedLength {
		return errNotFast
	}
	if vr == "SQ" {
		vl = tag.VLUndefinedLength
	}
	if len(vr) != 2 && vl != tag.VLUndefinedLength && t != tag.SequenceDelimitationItem && t != tag.ItemDelimitationItem {
		return errNotFast
	}
	if width == 2 {
		e.bo.PutUint16(e.buf[at:], uint16(vl))
	} else {
		e.bo.PutUint32(e.buf[at:], vl)
	}
	return nil
}

func (e *encoder) element(el *dicom.Element) error {
	vr := el.RawValueRepresentation
	if vr == "" {
		vr = vrOf(el.Tag)
	}
	if len(vr) != 2 && !e.implicit && el.Tag.Group != 0xFFFE {
		return errNotFast // the library writes such a VR as it is
	}
	if el.Value == nil {
		at, w := e.header(el.Tag, vr)
		return e.setLength(el.Tag, vr, at, w, el.ValueLength)
	}
	vt := el.Value.ValueType()
	if !typeMatches(el.Tag, vt, vr) {
		return errNotFast
	}
	at, w := e.header(el.Tag, vr)
	start := len(e.buf)
	if err := e.value(el, vt, vr); err != nil {
		return err
	}
	vl := uint32(len(e.buf) - start)
	if el.ValueLength == tag.VLUndefinedLength {
		vl = tag.VLUndefinedLength
	}
	return e.setLength(el.Tag, vr, at, w, vl)
}

// padSpace are the VRs the library pads with a space (others with NUL).
func padSpace(vr string) bool {
	switch vr {
	case "DT", "LO", "LT", "PN", "SH", "ST", "UT", "DS", "CS", "TM", "AE", "IS", "UN":
		return true
	}
	return false
}

func (e *encoder) value(el *dicom.Element, vt dicom.ValueType, vr string) error {
	if el.ValueLength == tag.VLUndefinedLength && vt <= dicom.Ints {
		return errNotFast
	}
	switch vt {
	case dicom.Strings:
		v := stringsOf(el.Value)
		start := len(e.buf)
		for i, s := range v {
			if i > 0 {
				e.buf = append(e.buf, '\\')
			}
			e.buf = append(e.buf, s...)
		}
		if (len(e.buf)-start)%2 == 1 {
			if padSpace(vr) {
				e.buf = append(e.buf, ' ')
			} else {
				e.buf = append(e.buf, 0)
			}
		}
	case dicom.Bytes:
		v := bytesOf(el.Value)
		switch vr {
		case "OW", "UN":
			if len(v)%2 != 0 {
				return errNotFast
			}
			e.buf = append(e.buf, v...) // read and written in the same byte order
		case "OB":
			e.buf = append(e.buf, v...)
			if len(v)%2 == 1 {
				e.buf = append(e.buf, 0)
			}
		default:
			return errNotFast
		}
	case dicom.Ints:
		for _, n := range intsOf(el.Value) {
			switch vr {
			case "US", "SS", "AT":
				e.buf = e.bo.AppendUint16(e.buf, uint16(n))
			case "UL", "SL":
				e.buf = e.bo.AppendUint32(e.buf, uint32(n))
			default:
				return errNotFast
			}
		}
	case dicom.Floats:
		for _, f := range el.Value.GetValue().([]float64) {
			switch vr {
			case "FL":
				e.buf = e.bo.AppendUint32(e.buf, math.Float32bits(float32(f)))
			case "FD":
				e.buf = e.bo.AppendUint64(e.buf, math.Float64bits(f))
			}
		}
	case dicom.Sequences:
		for _, it := range itemsOf(el.Value) {
			e.delimiter(tag.Item, tag.VLUndefinedLength)
			for _, sub := range elementsOf(it) {
				if err := e.element(sub); err != nil {
					return err
				}
			}
			e.delimiter(tag.ItemDelimitationItem, 0)
		}
		e.delimiter(tag.SequenceDelimitationItem, 0)
	case dicom.PixelData:
		return e.pixels(el)
	default:
		return errNotFast
	}
	return nil
}

// delimiter appends an item or delimitation header (always implicit).
func (e *encoder) delimiter(t tag.Tag, vl uint32) {
	e.buf = e.bo.AppendUint16(e.buf, t.Group)
	e.buf = e.bo.AppendUint16(e.buf, t.Element)
	e.buf = e.bo.AppendUint32(e.buf, vl)
}

func (e *encoder) pixels(el *dicom.Element) error {
	info, _ := pixelInfoOf(el.Value)
	if el.ValueLength != tag.VLUndefinedLength {
		switch {
		case info.IntentionallySkipped:
		case info.IntentionallyUnprocessed:
			e.buf = append(e.buf, info.UnprocessedValueData...)
		default:
			return errNotFast // native frames: the library writes them
		}
		return nil
	}
	e.delimiter(tag.Item, uint32(4*len(info.Offsets)))
	for _, o := range info.Offsets {
		e.buf = e.bo.AppendUint32(e.buf, o)
	}
	for _, f := range info.Frames {
		d := f.EncapsulatedData.Data
		if len(d)%2 != 0 {
			return errNotFast
		}
		e.delimiter(tag.Item, uint32(len(d)))
		e.buf = append(e.buf, d...)
	}
	e.delimiter(tag.SequenceDelimitationItem, 0)
	return nil
}

// implicitVR is the VR the library gives an element read without one: the
// dictionary's first, OW for pixel and overlay data, UN for tags it does
// not know.
func implicitVR(t tag.Tag) string {
	if t == tag.PixelData || t == tag.OverlayData {
		if _, err := tag.Find(t); err == nil {
			return "OW"
		}
	}
	return vrOf(t)
}
