package photo_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"hdw/masking"
	"hdw/masking/scantest"
	"hdw/synth"
)

// jpegEntropy returns the entropy-coded regions of a JPEG: from the end of
// each SOS segment to the next marker that is not RSTn or a stuffed byte
// (EOI included), and the offsets of every segment's payload before them.
func jpegEntropy(t *testing.T, b []byte) (entropy [][2]int64, payloads [][2]int) {
	t.Helper()
	i := 2
	for i+2 <= len(b) {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := b[i+1]
		if m == 0xD9 {
			return entropy, payloads
		}
		if i+4 > len(b) {
			break
		}
		l := int(binary.BigEndian.Uint16(b[i+2:]))
		payloads = append(payloads, [2]int{i + 4, i + 2 + l})
		i += 2 + l
		if m != 0xDA {
			continue
		}
		start := i
		for i+1 < len(b) && !(b[i] == 0xFF && b[i+1] != 0 && (b[i+1] < 0xD0 || b[i+1] > 0xD7)) {
			i++
		}
		end := i
		if b[i+1] == 0xD9 {
			end += 2
		}
		entropy = append(entropy, [2]int64{int64(start), int64(end)})
	}
	t.Fatal("no EOI")
	return nil, nil
}

func segment(m byte, payload string) []byte {
	b := []byte{0xFF, m, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(len(payload)+2))
	return append(b, payload...)
}

func chunk(typ, data string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE([]byte(typ+data)))
}

// TestSEC_PSE_4_PhotoScanSkipsOnlyImageData shows the residual scan's
// cost cut on photos is safe (issue 20 item 7): the only bytes the photo
// handler reports as not to be scanned are the compressed image data it
// copied (JPEG entropy-coded data, PNG IDAT data), with faces off (written
// straight out) and on (buffered, then written); and an identifier that a
// broken cleaner would leave in any metadata block or trailer (each kept
// segment or chunk overwritten in turn, or a block of each kind inserted:
// EXIF, XMP, IPTC, ICC, COM, APPn, a segment between scans, a trailer after
// EOI; PNG text, eXIf and unknown chunks) is caught.
func TestSEC_PSE_4_PhotoScanSkipsOnlyImageData(t *testing.T) {
	sp, mp := testPerson()
	var jp, pn bytes.Buffer
	if err := synth.JPEG(&jp, synth.PhotoSpec{Person: sp, W: 320, H: 240, Camera: true}); err != nil {
		t.Fatal(err)
	}
	if err := synth.TextPNG(&pn, sp, 200, 150); err != nil {
		t.Fatal(err)
	}
	hit := func(out []byte, ranges [][2]int64) bool {
		t.Helper()
		got, err := scantest.Hit(t.Context(), out, ranges, mp)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, faces := range []bool{false, true} {
		rec := &scantest.Recorder{}
		if _, err := h.Deidentify(t.Context(), rec, bytes.NewReader(jp.Bytes()), int64(jp.Len()), mp, masking.Options{Faces: faces}); err != nil {
			t.Fatal(err)
		}
		out, ranges := rec.Bytes(), rec.Ranges()
		entropy, payloads := jpegEntropy(t, out)
		if len(ranges) == 0 || !within(ranges, entropy) {
			t.Fatalf("faces %v: unscanned %v, entropy-coded data %v", faces, ranges, entropy)
		}
		if hit(out, ranges) {
			t.Fatalf("faces %v: clean output quarantined", faces)
		}
		for _, pl := range payloads {
			if pl[1]-pl[0] < 8 {
				continue
			}
			bad := bytes.Clone(out)
			copy(bad[pl[0]:], " Zélie ")
			if !hit(bad, ranges) {
				t.Errorf("faces %v: identifier in the segment at %d not caught", faces, pl[0]-4)
			}
		}
		eoi := len(out) - 2
		mid := int(entropy[0][0]+entropy[0][1]) / 2
		for mid > 0 && (out[mid-1] == 0xFF || out[mid] == 0xFF) {
			mid--
		}
		for _, c := range []struct {
			name string
			at   int
			b    []byte
		}{
			{"EXIF", 2, segment(0xE1, "Exif\x00\x00MM\x00*\x00\x00\x00\x08 Artist Lefèvre")},
			{"XMP", 2, segment(0xE1, "http://ns.adobe.com/xap/1.0/\x00<dc:creator>Zélie Lefèvre</dc:creator>")},
			{"IPTC", 2, segment(0xED, "Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10\x1c\x02\x50\x00\x08Lefèvre")},
			{"ICC", 2, segment(0xE2, "ICC_PROFILE\x00\x01\x01desc Lefèvre")},
			{"COM", 2, segment(0xFE, "patient Lefèvre")},
			{"APP11", 2, segment(0xEB, "JP Lefèvre")},
			{"between scans", mid, segment(0xFE, "Lefèvre")},
			{"before EOI", eoi, segment(0xFE, "06 12 34 56 78")},
			{"trailer", len(out), []byte("TRAILER 12 rue des Lilas")},
		} {
			bad, rs := scantest.Insert(out, ranges, c.at, c.b)
			if !hit(bad, rs) {
				t.Errorf("faces %v: identifier in an inserted %s block not caught", faces, c.name)
			}
		}
	}
	rec := &scantest.Recorder{}
	if _, err := h.Deidentify(t.Context(), rec, bytes.NewReader(pn.Bytes()), int64(pn.Len()), mp, masking.Options{}); err != nil {
		t.Fatal(err)
	}
	out, ranges := rec.Bytes(), rec.Ranges()
	var idat [][2]int64
	var chunks [][2]int
	iend := 0
	for i := 8; i+12 <= len(out); {
		n := int(binary.BigEndian.Uint32(out[i:]))
		switch string(out[i+4 : i+8]) {
		case "IDAT":
			idat = append(idat, [2]int64{int64(i + 8), int64(i + 8 + n)})
		case "IEND":
			iend = i
		default:
			chunks = append(chunks, [2]int{i + 8, i + 8 + n})
		}
		i += 12 + n
	}
	if len(ranges) == 0 || !within(ranges, idat) {
		t.Fatalf("PNG: unscanned %v, IDAT data %v", ranges, idat)
	}
	if hit(out, ranges) {
		t.Fatal("PNG: clean output quarantined")
	}
	for _, c := range chunks {
		if c[1]-c[0] >= 8 {
			bad := bytes.Clone(out)
			copy(bad[c[0]:], " Zélie ")
			if !hit(bad, ranges) {
				t.Errorf("PNG: identifier in the chunk at %d not caught", c[0]-8)
			}
		}
	}
	for _, c := range []struct {
		name string
		at   int
		b    []byte
	}{
		{"tEXt", 8, chunk("tEXt", "Author\x00Zélie Lefèvre")},
		{"iTXt", 8, chunk("iTXt", "Description\x00\x00\x00\x00\x00Lefèvre")},
		{"eXIf", 8, chunk("eXIf", "MM\x00*\x00\x00\x00\x08Lefèvre")},
		{"unknown", int(idat[0][0]) - 8, chunk("prVt", "Lefèvre")},
		{"after IEND", len(out), []byte("Lefèvre")},
		{"before IEND", iend, chunk("tEXt", "Comment\x0006 12 34 56 78")},
	} {
		bad, rs := scantest.Insert(out, ranges, c.at, c.b)
		if !hit(bad, rs) {
			t.Errorf("PNG: identifier in an inserted %s chunk not caught", c.name)
		}
	}
}

// within reports whether every range lies inside one of the regions.
func within(ranges, regions [][2]int64) bool {
	for _, r := range ranges {
		ok := false
		for _, g := range regions {
			ok = ok || r[0] >= g[0] && r[1] <= g[1]
		}
		if !ok {
			return false
		}
	}
	return true
}
