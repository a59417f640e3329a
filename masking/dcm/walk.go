package dcm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
	"hdw/masking/dcm/internal/annexe"
)

// maxDepth bounds sequence nesting; deeper files are quarantined.
const maxDepth = 32

// deid is the state of one de-identification.
type deid struct {
	ar   *arena // where new elements are made (made.go)
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
	// more (numbers holding one are replaced), computed once
	// (identifierDigits).
	idDigits [][]byte
	// unknownRemoved counts public attributes removed because their value
	// could not be decoded (VR UN, or two bytes that are no VR).
	unknownRemoved int
	pixelsMasked   bool
	// streamLen is the length of native pixel data that is streamed, not
	// held in memory (0: the pixels are in memory).
	streamLen int64
	// the residual scan's check of keyed UIDs (speller), closed with the
	// arena
	spell       masking.Speller
	spellerMade bool
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
	d.actions = make([]string, 0, 6) // a CT slice has three; one array, not three as the list grows
	meta, body := splitMeta(ds.Elements)
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
	all := make([]*dicom.Element, 0, 6+len(out)) // the meta then out, in one array
	all = append(all,
		metaVersion,
		d.elemString(tag.MediaStorageSOPClassUID, "UI", d.sopClass),
		d.elemString(tag.MediaStorageSOPInstanceUID, "UI", d.sopUID),
		d.elemString(tag.TransferSyntaxUID, "UI", ts),
		implClassUID,
		implVersion)
	d.actions = append(d.actions, "annexE:basic:"+annexe.Edition, "meta:rebuilt")
	if d.unknownRemoved > 0 {
		d.actions = append(d.actions, fmt.Sprintf("un:removed:%d", d.unknownRemoved))
	}
	return append(all, out...), nil
}

// splitMeta returns the group 2 elements and the others of els, in their
// order (slices of els when the meta comes first, as it does in a file).
func splitMeta(els []*dicom.Element) (meta, body []*dicom.Element) {
	k := 0
	for k < len(els) && els[k].Tag.Group == 0x0002 {
		k++
	}
	if !slices.ContainsFunc(els[k:], func(e *dicom.Element) bool { return e.Tag.Group == 0x0002 }) {
		return els[:k:k], els[k:]
	}
	for _, e := range els {
		if e.Tag.Group == 0x0002 {
			meta = append(meta, e)
		} else {
			body = append(body, e)
		}
	}
	return meta, body
}

// The file meta elements of every output (shared, never modified).
var (
	metaVersion  = elem(tag.FileMetaInformationVersion, "OB", []byte{0, 1})
	implClassUID = elem(tag.ImplementationClassUID, "UI", []string{ImplementationClassUID})
	implVersion  = elem(tag.ImplementationVersionName, "SH", []string{ImplementationVersionName})
)

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
	var cbuf [4]privateCreator
	creators := privateCreators(cbuf[:0])
	for _, e := range els {
		if e.Tag.Group%2 == 1 && e.Tag.Element >= 0x10 && e.Tag.Element <= 0xFF {
			creators = creators.set(uint32(e.Tag.Group)<<16|uint32(e.Tag.Element), strings.ToUpper(firstString(e)))
		}
	}
	var kbuf [4]uint32
	keptBlocks := kbuf[:0] // the blocks of which an element is kept, each once
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
			creator, ok := creators.get(block)
			if !ok || !d.safePrivate(creator, g, el) {
				continue
			}
			ne, err := d.keepPrivate(e, depth, strict)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(keptBlocks, block) {
				keptBlocks = append(keptBlocks, block)
			}
			d.keptPrivate++
			out = append(out, ne)
			continue
		case g >= 0x5000 && g <= 0x50FF, g >= 0x6000 && g <= 0x60FF:
			continue // curves and overlays, whole groups (Annex E 50xx, 60xx rows)
		case g == 0x0008 && el == 0x0005:
			out = append(out, charsetUTF8) // shared: values are never modified in place
			continue
		case len(e.RawValueRepresentation) == 2 && vrName(e.RawValueRepresentation[0], e.RawValueRepresentation[1]) == "":
			// Two bytes that are no VR (a damaged header): written back they
			// make an invalid file, and the value was not read as its
			// attribute's. It is removed, as an undecoded attribute is.
			d.unknownRemoved++
			continue
		case len(e.RawValueRepresentation) == 2 && !vrAllowed(e.Tag, e.RawValueRepresentation):
			// A real VR, but not one the dictionary gives the attribute (a
			// date written as SH): its value was not read as the attribute's
			// (a date would escape the date policy) and written back it
			// makes an invalid file. It is removed, as an undecoded
			// attribute is.
			d.unknownRemoved++
			continue
		}
		row, listed := annexe.LookupRef(g, el)
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
	for _, block := range keptBlocks {
		t := tag.Tag{Group: uint16(block >> 16), Element: uint16(block & 0xFF)}
		name, _ := creators.get(block)
		out = append(out, d.elemString(t, "LO", name))
	}
	sortElements(out)
	return out, nil
}

// privateCreators are the private creators of one level, by block
// ((gggg,00xx) as gggg<<16|xx): a list, not a map, for the one to a few
// of a level (a map was two allocations per level that has one).
type privateCreators []privateCreator

type privateCreator struct {
	block uint32
	name  string
}

// set records the creator of block, replacing the one before (the last
// of a block wins, as in a map).
func (c privateCreators) set(block uint32, name string) privateCreators {
	for i := range c {
		if c[i].block == block {
			c[i].name = name
			return c
		}
	}
	return append(c, privateCreator{block, name})
}

func (c privateCreators) get(block uint32) (string, bool) {
	for _, x := range c {
		if x.block == block {
			return x.name, true
		}
	}
	return "", false
}

func (d *deid) safePrivate(creator string, g, el uint16) bool {
	if !d.opts.RetainSafePrivate || creator == "" {
		return false
	}
	// The entries read "CREATOR|GGGG,XXEE", compared without case.
	const hexDigits = "0123456789ABCDEF"
	e := byte(el & 0xFF)
	suffix := [10]byte{'|', hexDigits[g>>12], hexDigits[g>>8&0xF], hexDigits[g>>4&0xF], hexDigits[g&0xF], ',', 'X', 'X', hexDigits[e>>4], hexDigits[e&0xF]}
	for _, s := range d.opts.SafePrivate {
		if s != "" && (s[0] <= ' ' || s[len(s)-1] <= ' ' || s[0] >= utf8.RuneSelf || s[len(s)-1] >= utf8.RuneSelf) {
			s = strings.TrimSpace(s) // only then: this loop runs over the whole list for each private attribute
		}
		if len(s) != len(creator)+len(suffix) || !strings.EqualFold(s[:len(creator)], creator) {
			continue
		}
		if equalFoldASCII(s[len(creator):], suffix[:]) {
			return true
		}
	}
	return false
}

// equalFoldASCII compares s and b, ASCII letters without case.
func equalFoldASCII(s string, b []byte) bool {
	if len(s) != len(b) {
		return false
	}
	for i := range b {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != b[i] {
			return false
		}
	}
	return true
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
	start := len(d.ar.itemStack)
	for _, it := range itemsOf(e.Value) {
		w, err := d.walk(elementsOf(it), depth+1, strict)
		if err != nil {
			return nil, err
		}
		d.ar.itemStack = append(d.ar.itemStack, w)
	}
	return d.with(e, d.ar.popSequence(start)), nil
}
