package dcm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// errStructure is returned by the pre-scan for any inconsistency.
var errStructure = errors.New("dcm: inconsistent dicom structure")

// scanDepth bounds nesting in the pre-scan.
const scanDepth = 64

// preScan walks the element headers of a whole Part 10 file the way
// suyashkumar/dicom v1.1.0 reads them, without reading values, and rejects
// any value length larger than what remains. The parser allocates a value's
// declared length before reading it, so a few forged lengths would
// otherwise cost gigabytes. It returns the transfer syntax UID and the
// scanner, which holds the position of top-level native pixel data.
func preScan(b []byte) (string, *scanner, error) {
	s, err := scanMeta(b)
	if err != nil {
		return "", s, err
	}
	if !s.known() {
		return s.ts, s, nil // the caller quarantines unknown and deflated syntaxes
	}
	for s.pos < len(b) {
		if err := s.element(len(b), 0); err != nil {
			return "", s, err
		}
	}
	return s.ts, s, nil
}

// preScanHead scans the head of a file of size bytes for streaming: it
// returns the scanner when every top-level element before a native pixel
// data value lies in head and that value ends the file. more reports that
// a longer head might succeed; with neither, the file is read whole.
func preScanHead(head []byte, size int64) (s *scanner, more bool) {
	s, err := scanMeta(head)
	if err != nil {
		return nil, true
	}
	if !s.known() || s.ts != tsImplicitLE && s.ts != tsExplicitLE && s.ts != tsExplicitBE {
		return nil, false
	}
	for s.pos < len(head) {
		start := s.pos
		if s.pos+12 > len(head) {
			return nil, true
		}
		t, vr, vl, err := s.header(len(head))
		if err != nil {
			return nil, true
		}
		if t == tag.PixelData {
			if vl == tag.VLUndefinedLength || int64(s.pos)+int64(vl) != size {
				return nil, false
			}
			s.pxHdr, s.pxOff, s.pxLen, s.pxNative, s.pxVR = start, s.pos, int(vl), true, vr
			s.b = head[:start]
			return s, false
		}
		if err := s.value(t, vr, vl, len(head), 0); err != nil {
			return nil, true
		}
	}
	return nil, true
}

// scanMeta checks the preamble and the file meta group and returns the
// scanner set for the dataset's transfer syntax, positioned after the meta.
func scanMeta(b []byte) (*scanner, error) {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return nil, errStructure
	}
	s := &scanner{b: b, pos: 132, bo: littleEndian}
	// (0002,0000) group length first, then the meta group within it.
	if len(b) < s.pos+12 {
		return s, errStructure
	}
	g, e := s.u16(s.pos), s.u16(s.pos+2)
	if g != 2 || e != 0 || string(b[s.pos+4:s.pos+6]) != "UL" || s.u16(s.pos+6) != 4 {
		return s, errStructure
	}
	metaLen := int(binary.LittleEndian.Uint32(b[s.pos+8:]))
	s.pos += 12
	metaEnd := s.pos + metaLen
	if metaLen < 0 || metaEnd > len(b) {
		return s, errStructure
	}
	for s.pos < metaEnd {
		start := s.pos
		if err := s.element(metaEnd, 0); err != nil {
			return s, err
		}
		if s.u16(start) == 2 && s.u16(start+2) == 0x10 && s.pos-start >= 8 {
			s.ts = strings.TrimRight(string(b[start+8:s.pos]), "\x00 ")
		}
	}
	if s.pos != metaEnd {
		return s, errStructure
	}
	switch {
	case s.ts == tsImplicitLE:
		s.implicit = true
	case s.ts == tsExplicitBE:
		s.bo = bigEndian
	}
	return s, nil
}

// known reports whether the dataset's transfer syntax can be scanned.
func (s *scanner) known() bool {
	return s.ts == tsImplicitLE || s.ts == tsExplicitBE || s.ts == tsExplicitLE || encapsulatedSyntaxes[s.ts]
}

type scanner struct {
	b        []byte
	pos      int
	bo       order
	implicit bool
	ts       string
	// top-level native pixel data value, if any: the offsets of its
	// element header and of its value, its length and its VR
	pxHdr, pxOff, pxLen int
	pxNative            bool
	pxVR                string
	// the last element header read, for the quarantine reason
	lastTag tag.Tag
	lastOff int
}

// structureReason says which element at which offset is inconsistent (a
// tag and an offset identify no one).
func (s *scanner) structureReason() string {
	if s == nil || s.lastOff == 0 {
		return "dicom structure inconsistent"
	}
	return fmt.Sprintf("dicom structure inconsistent: element (%04X,%04X) at offset %d", s.lastTag.Group, s.lastTag.Element, s.lastOff)
}

func (s *scanner) u16(at int) uint16 { return s.bo.Uint16(s.b[at:]) }

// longVL reports the explicit VRs with a 4-byte length, as the parser reads them.
func longVL(vr string) bool {
	switch vr {
	case "NA", "OB", "OD", "OF", "OL", "OW", "SQ", "UN", "UC", "UR", "UT":
		return true
	}
	return false
}

// header reads one element header and returns its tag, VR and length.
func (s *scanner) header(end int) (tag.Tag, string, uint32, error) {
	if s.pos+8 > end {
		return tag.Tag{}, "", 0, errStructure
	}
	t := tag.Tag{Group: s.u16(s.pos), Element: s.u16(s.pos + 2)}
	s.lastTag, s.lastOff = t, s.pos
	s.pos += 4
	if s.implicit || t == tag.Item {
		vr := implicitVR(t)
		vl := s.bo.Uint32(s.b[s.pos:])
		s.pos += 4
		return t, vr, vl, nil
	}
	vr := vrName(s.b[s.pos], s.b[s.pos+1])
	if vr == "" {
		vr = rawVR(s.b[s.pos], s.b[s.pos+1])
	}
	s.pos += 2
	if longVL(vr) {
		if s.pos+6 > end {
			return tag.Tag{}, "", 0, errStructure
		}
		vl := s.bo.Uint32(s.b[s.pos+2:])
		s.pos += 6
		return t, vr, vl, nil
	}
	vl := uint32(s.u16(s.pos))
	s.pos += 2
	if vl == 0xFFFF {
		vl = tag.VLUndefinedLength
	}
	return t, vr, vl, nil
}

// skip checks and skips a defined value length.
func (s *scanner) skip(vl uint32, end int) error {
	if vl == tag.VLUndefinedLength || int64(vl) > int64(end-s.pos) {
		return errStructure
	}
	s.pos += int(vl)
	return nil
}

// element scans one element (and its nested items) ending before end.
func (s *scanner) element(end, depth int) error {
	if depth > scanDepth {
		return errStructure
	}
	t, vr, vl, err := s.header(end)
	if err != nil {
		return err
	}
	return s.value(t, vr, vl, end, depth)
}

// value scans the value of the element whose header was just read.
func (s *scanner) value(t tag.Tag, vr string, vl uint32, end, depth int) error {
	if depth == 0 && t == tag.PixelData && vl != tag.VLUndefinedLength {
		s.pxOff, s.pxLen, s.pxNative, s.pxVR = s.pos, int(vl), true, vr
	}
	switch tag.GetVRKind(t, vr) {
	case tag.VRSequence:
		return s.sequence(vl, end, depth)
	case tag.VRItem:
		return s.item(vl, end, depth)
	case tag.VRPixelData:
		if vl == tag.VLUndefinedLength {
			return s.rawItems(end)
		}
		return s.skip(vl, end)
	case tag.VRBytes:
		if vl == tag.VLUndefinedLength {
			return s.rawItems(end)
		}
		return s.skip(vl, end)
	case tag.VRUnknown:
		if vl == tag.VLUndefinedLength {
			return s.sequence(vl, end, depth)
		}
		return s.skip(vl, end)
	default:
		if t == tag.ItemDelimitationItem || t == tag.SequenceDelimitationItem {
			return s.skip(vl, end)
		}
		return s.skip(vl, end)
	}
}

// sequence scans the items of a sequence.
func (s *scanner) sequence(vl uint32, end, depth int) error {
	return s.children(vl, end, depth, 0xE0DD)
}

func (s *scanner) expectItem(end, depth int) error {
	if s.pos+8 > end || s.u16(s.pos) != 0xFFFE || s.u16(s.pos+2) != 0xE000 {
		return errStructure
	}
	return s.element(end, depth+1)
}

// item scans the elements of one sequence item.
func (s *scanner) item(vl uint32, end, depth int) error {
	return s.children(vl, end, depth, 0xE00D)
}

// children scans the children of a sequence (its items, delim the
// sequence delimiter 0xE0DD) or of an item (its elements, delim the item
// delimiter 0xE00D): vl bytes of them, or up to the delimiter when the
// length is undefined.
func (s *scanner) children(vl uint32, end, depth int, delim uint16) error {
	if vl != tag.VLUndefinedLength {
		if int64(vl) > int64(end-s.pos) {
			return errStructure
		}
		sub := s.pos + int(vl)
		for s.pos < sub {
			if err := s.child(sub, depth, delim); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		if s.pos+8 > end {
			return errStructure
		}
		if s.u16(s.pos) == 0xFFFE && s.u16(s.pos+2) == delim {
			_, _, vl, err := s.header(end)
			if err != nil {
				return err
			}
			return s.skip(vl, end)
		}
		if err := s.child(end, depth, delim); err != nil {
			return err
		}
	}
}

// child scans one child of a sequence (an item) or of an item (an
// element), as children tells by delim.
func (s *scanner) child(end, depth int, delim uint16) error {
	if delim == 0xE0DD {
		return s.expectItem(end, depth)
	}
	return s.element(end, depth+1)
}

// rawItems scans encapsulated fragments up to the sequence delimiter.
func (s *scanner) rawItems(end int) error {
	for {
		if s.pos+8 > end {
			return errStructure
		}
		g, e := s.u16(s.pos), s.u16(s.pos+2)
		vl := s.bo.Uint32(s.b[s.pos+4:])
		s.pos += 8
		switch {
		case g == 0xFFFE && e == 0xE0DD:
			return nil
		case g == 0xFFFE && e == 0xE000:
			if err := s.skip(vl, end); err != nil {
				return err
			}
		default:
			return errStructure
		}
	}
}

// rawVR is string([]byte{a, b}), two bytes that are no VR, without an
// allocation for the zero bytes of a delimiter's length, which is read
// where an explicit VR would be (twice per sequence of undefined length).
func rawVR(a, b byte) string {
	if a == 0 && b == 0 {
		return "\x00\x00"
	}
	return string([]byte{a, b})
}
