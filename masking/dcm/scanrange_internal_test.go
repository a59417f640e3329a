package dcm

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"testing"

	"hdw/masking"
	"hdw/masking/scantest"
	"hdw/synth"
)

func scanHit(t *testing.T, out []byte, ranges [][2]int64, p masking.Person) bool {
	t.Helper()
	hit, err := scantest.Hit(t.Context(), out, ranges, p)
	if err != nil {
		t.Fatal(err)
	}
	return hit
}

// explicitLE encodes one explicit VR little endian element.
func explicitLE(g, e uint16, vr string, v []byte) []byte {
	if len(v)%2 == 1 {
		v = append(v, ' ')
	}
	b := binary.LittleEndian.AppendUint16(nil, g)
	b = binary.LittleEndian.AppendUint16(b, e)
	b = append(b, vr...)
	if longVL(vr) {
		b = append(b, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	} else {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	}
	return append(b, v...)
}

// TestSEC_PSE_4_ScanSkipsOnlyPixelValueRange shows the residual scan's cost
// cut is safe (issue 19, Done when, last item): over files planting the
// person's identifiers in every element kind (file meta, private blocks
// with and without a creator, sequences three deep, overlay data and
// comments, curve groups, icon images, UN values, every text VR), in
// memory and streamed, the only bytes the DICOM handler reports as not to
// be scanned are the top-level native pixel data value of its output; and
// an identifier that a broken de-identifier would leave in any other
// element of that output (each value overwritten in turn, or an element of
// each kind inserted before the pixels) is caught by the scan.
func TestSEC_PSE_4_ScanSkipsOnlyPixelValueRange(t *testing.T) {
	p := masking.Person{Pseudonym: "PSEUDO7Q2X", DateShiftDays: -37, Identifiers: []masking.Identifier{
		{Kind: "LAST_NAME", Value: "Dubois"}, {Kind: "FIRST_NAME", Value: "Amelie"}, {Kind: "OTHER", Value: "MARKERQ7"}}}
	un := synth.DICOMElement{Tag: 0x00189999, VR: "UN", Value: "Dubois Amelie"} // unknown public attribute
	specs := map[string]synth.DICOMSpec{
		"ct16":  {Modality: "CT", Rows: 64, Cols: 64, Marker: "MARKERQ7", PatientName: "Dubois^Amelie", Extra: []synth.DICOMElement{un}},
		"us8":   {Modality: "US", Rows: 48, Cols: 40, BitsAllocated: 8, Marker: "MARKERQ7", PatientName: "Dubois^Amelie"},
		"ct512": {Modality: "CT", Rows: 512, Cols: 512, Frames: 2, Marker: "MARKERQ7", PatientName: "Dubois^Amelie"},
	}
	for name, s := range specs {
		in := genFile(t, s)
		for _, head := range []int{1 << 10, 64 << 10, math.MaxInt32} {
			withHead(head, func() {
				rec := &scantest.Recorder{}
				var src io.Reader = bytes.NewReader(in)
				o := streamOpts()
				if s.Modality == "US" {
					o.Boxes = []masking.Box{{X0: 0, Y0: 0, X1: 20, Y1: 10}} // masked here, then skipped too
				}
				_, err := New(Config{Clean: masking.ScrubText}).Deidentify(t.Context(), rec, src, int64(len(in)), p, o)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				out := rec.Bytes()
				_, sc, err := preScan(out)
				if err != nil || !sc.pxNative {
					t.Fatalf("%s: output does not scan (%v) or has no native pixels", name, err)
				}
				want := [2]int64{int64(sc.pxOff), int64(sc.pxOff + sc.pxLen)}
				if got := rec.Ranges(); len(got) != 1 || got[0] != want {
					t.Fatalf("%s head %d: unscanned %v, want only the pixel value %v", name, head, got, want)
				}
				ranges := [][2]int64{want}
				if scanHit(t, out, ranges, p) {
					t.Fatalf("%s: clean output quarantined", name)
				}
				checkEveryElementScanned(t, name, out, sc, ranges, p)
			})
		}
	}
}

// checkEveryElementScanned plants an identifier in each value of out
// before the pixel value (overwriting it, when it has room) and, in turn,
// inserts before the pixel data an element of every kind holding one;
// each such output must be caught.
func checkEveryElementScanned(t *testing.T, name string, out []byte, sc *scanner, ranges [][2]int64, p masking.Person) {
	t.Helper()
	plant := []byte("^Dubois^")
	// Every element header before the pixels: walk them again.
	s, err := scanMeta(out)
	if err != nil {
		t.Fatal(err)
	}
	planted, pxHdr := 0, -1
	for pxHdr < 0 {
		start := s.pos
		_, _, vl, err := s.header(len(out))
		if err != nil {
			t.Fatal(err)
		}
		if s.pos == sc.pxOff {
			pxHdr = start
			break
		}
		if vl != 0xFFFFFFFF && int(vl) >= len(plant) {
			bad := bytes.Clone(out)
			copy(bad[s.pos:], plant)
			if !scanHit(t, bad, ranges, p) {
				t.Errorf("%s: identifier planted in the element at offset %d not caught", name, start)
			}
			planted++
		}
		s.pos = start
		if err := s.element(len(out), 0); err != nil {
			t.Fatal(err)
		}
	}
	if planted < 10 {
		t.Fatalf("%s: only %d elements planted", name, planted)
	}
	item := func(els ...[]byte) []byte {
		b := []byte{0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF}
		b = append(b, bytes.Join(els, nil)...)
		return append(b, 0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0)
	}
	seq := func(g, e uint16, items ...[]byte) []byte {
		b := binary.LittleEndian.AppendUint16(nil, g)
		b = binary.LittleEndian.AppendUint16(b, e)
		b = append(b, 'S', 'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF)
		b = append(b, bytes.Join(items, nil)...)
		return append(b, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0)
	}
	name16 := []byte("Dubois^Amelie")
	kinds := map[string][]byte{
		"private with creator": append(explicitLE(0x0043, 0x0010, "LO", []byte("GEMS_ACQU_01")), explicitLE(0x0043, 0x1001, "LO", name16)...),
		"private no creator":   explicitLE(0x0045, 0x1001, "UT", name16),
		"sequence depth 3": seq(0x0040, 0x0260, item(seq(0x0008, 0x1140, item(seq(0x0040, 0xA730,
			item(explicitLE(0x0040, 0xA160, "UT", name16))))))),
		"overlay description":       explicitLE(0x6000, 0x0022, "LO", name16),
		"overlay data":              explicitLE(0x6000, 0x3000, "OW", []byte("...Dubois Amelie...")),
		"curve data":                explicitLE(0x5000, 0x3000, "OB", []byte("...Dubois Amelie...")),
		"UN":                        explicitLE(0x0019, 0x10FF, "UN", name16),
		"UN public":                 explicitLE(0x0018, 0x9999, "UN", name16),
		"OB other":                  explicitLE(0x0029, 0x1010, "OB", []byte("\x00\x01Dubois\x00")),
		"PN":                        explicitLE(0x0008, 0x0090, "PN", name16),
		"ST":                        explicitLE(0x0032, 0x4000, "ST", name16),
		"LT":                        explicitLE(0x0010, 0x4000, "LT", name16),
		"SH":                        explicitLE(0x0008, 0x1010, "SH", []byte("Dubois")),
		"AE":                        explicitLE(0x0002, 0x0016, "AE", []byte("DUBOIS")),
		"UC":                        explicitLE(0x0018, 0x9938, "UC", name16),
		"short value before pixels": explicitLE(0x0028, 0x7FE0, "UT", []byte("x Amelie")),
	}
	for kind, el := range kinds {
		bad, shifted := scantest.Insert(out, ranges, pxHdr, el)
		if !scanHit(t, bad, shifted, p) {
			t.Errorf("%s: identifier in an inserted %s element not caught", name, kind)
		}
	}
}
