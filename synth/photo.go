package synth

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// PhotoSpec describes a synthetic photo whose metadata carry a person's
// identifiers (test data for the photo masker, SEC-PSE-4).
type PhotoSpec struct {
	Person      Person
	W, H        int
	Orientation int // EXIF orientation 1-8; 0 means 1
	// Camera makes the JPEG look like camera output: a textured, noisy
	// picture encoded at quality 90 (about 0.3 to 0.5 byte per pixel, see
	// TestCameraJPEGSize), an EXIF maker note naming the owner and an IFD1
	// thumbnail. False (the zero value) keeps the flat gradient at quality
	// 85 and today's bytes, on which golden tests depend.
	Camera bool
	// Seed varies the camera picture (Camera only).
	Seed uint64
}

// JPEG writes a synthetic JPEG carrying s.Person's identifiers in every
// metadata block a camera or an editor writes: EXIF (Artist, camera
// serial, DateTimeOriginal, GPS and orientation, from ExifJPEG; with
// s.Camera also a maker note and an IFD1 thumbnail), XMP (standard and
// extended), IPTC in a Photoshop APP13 block, an MPF APP2 segment, an
// unknown APP11 segment, a COM segment and trailing bytes after EOI. The
// output is deterministic.
func JPEG(w io.Writer, s PhotoSpec) error {
	return JPEGs(s, []Person{s.Person}, func(_ int, b []byte) error {
		_, err := w.Write(b)
		return err
	})
}

// JPEGs calls fn with one JPEG per person, each identical to JPEG with
// s.Person set to people[i], but encodes the picture only once (corpora of
// large photos). fn must not retain b. It returns the first error of the
// encoder or of fn.
func JPEGs(s PhotoSpec, people []Person, fn func(i int, b []byte) error) error {
	o := s.Orientation
	if o == 0 {
		o = 1
	}
	var enc, thumb []byte
	var err error
	if s.Camera {
		enc, thumb, err = cameraPixels(s.W, s.H, s.Seed)
	} else {
		enc, err = flatPixels(s.W, s.H)
	}
	if err != nil {
		return err
	}
	var base, out bytes.Buffer
	for i, p := range people {
		ds := demoPhotoSpec(p, s.W, s.H)
		ds.Orientation = o
		ds.Trailer = []byte("TRAILER " + p.LastName)
		if s.Camera {
			ds.Thumbnail = thumb
			ds.MakerNote = makerNote(p)
		}
		base.Reset()
		if err := writeDemoJPEG(&base, ds, enc); err != nil {
			return err
		}
		b := base.Bytes()
		out.Reset()
		out.Write(b[:2]) // SOI
		for _, seg := range photoSegments(p) {
			out.Write(seg)
		}
		out.Write(b[2:])
		if err := fn(i, out.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// jpegSegment frames payload as a marker segment.
func jpegSegment(marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// photoSegments builds the XMP, extended XMP, IPTC, MPF and APP11 blocks.
func photoSegments(p Person) [][]byte {
	name := p.FirstName + " " + p.LastName
	xmp := fmt.Sprintf(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">`+
		`<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmpNote="http://ns.adobe.com/xmp/note/">`+
		`<dc:creator><rdf:Seq><rdf:li>%s</rdf:li></rdf:Seq></dc:creator>`+
		`<dc:description><rdf:Alt><rdf:li xml:lang="x-default">%s %s</rdf:li></rdf:Alt></dc:description>`+
		`<xmpNote:HasExtendedXMP>0123456789ABCDEF0123456789ABCDEF</xmpNote:HasExtendedXMP>`+
		`</rdf:Description></rdf:RDF></x:xmpmeta>`, name, p.Address, p.Phone)
	std := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), xmp...)

	extData := []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"><photoshop:City>` + p.City +
		`</photoshop:City><photoshop:Credit>` + name + `</photoshop:Credit></rdf:Description></rdf:RDF></x:xmpmeta>`)
	ext := append([]byte("http://ns.adobe.com/xmp/extension/\x00"), "0123456789ABCDEF0123456789ABCDEF"...)
	ext = binary.BigEndian.AppendUint32(ext, uint32(len(extData)))
	ext = binary.BigEndian.AppendUint32(ext, 0)
	ext = append(ext, extData...)

	// IPTC IIM records 2:80 By-line, 2:90 City, 2:120 Caption inside a
	// Photoshop image resource 0x0404.
	var iptc []byte
	for _, ds := range []struct {
		tag byte
		v   string
	}{{80, name}, {90, p.City}, {120, p.Address + " " + p.Phone}} {
		iptc = append(iptc, 0x1C, 2, ds.tag)
		iptc = binary.BigEndian.AppendUint16(iptc, uint16(len(ds.v)))
		iptc = append(iptc, ds.v...)
	}
	ps := append([]byte("Photoshop 3.0\x00"), "8BIM"...)
	ps = binary.BigEndian.AppendUint16(ps, 0x0404)
	ps = append(ps, 0, 0) // empty Pascal name, padded
	ps = binary.BigEndian.AppendUint32(ps, uint32(len(iptc)))
	ps = append(ps, iptc...)
	if len(iptc)%2 == 1 {
		ps = append(ps, 0)
	}

	// MPF: a minimal big-endian index IFD naming a (dropped) secondary image.
	mpf := append([]byte("MPF\x00"), "MM\x00\x2A\x00\x00\x00\x08"...)
	mpf = binary.BigEndian.AppendUint16(mpf, 1)
	mpf = append(mpf, 0xB0, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x04, '0', '1', '0', '0')
	mpf = append(mpf, 0, 0, 0, 0)
	mpf = append(mpf, ("MPF-SECONDARY " + name)...)

	return [][]byte{
		jpegSegment(0xE1, std),
		jpegSegment(0xE1, ext),
		jpegSegment(0xED, ps),
		jpegSegment(0xE2, mpf),
		jpegSegment(0xEB, []byte("VENDOR\x00"+name+" "+p.BirthDate)),
	}
}

// TIFF writes a synthetic uncompressed RGB little-endian TIFF whose
// ImageDescription, Artist and Copyright tags carry s.Person's identifiers.
func TIFF(w io.Writer, s PhotoSpec) error {
	p := s.Person
	type entry struct {
		tag, typ uint16
		count    uint32
		value    []byte // inline when <= 4 bytes, else stored after the IFD
	}
	short := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	long := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	ascii := func(v string) []byte { return append([]byte(v), 0) }
	pix := make([]byte, 0, s.W*s.H*3)
	for y := 0; y < s.H; y++ {
		for x := 0; x < s.W; x++ {
			pix = append(pix, uint8(x*4), uint8(y*4), 160)
		}
	}
	desc := ascii(p.FirstName + " " + p.LastName + ", " + p.Address + ", " + p.Phone)
	artist := ascii(p.FirstName + " " + p.LastName)
	copyr := ascii("(c) " + p.LastName + " " + p.BirthDate)
	entries := []entry{
		{256, 3, 1, short(uint16(s.W))}, {257, 3, 1, short(uint16(s.H))},
		{258, 3, 3, append(append(short(8), short(8)...), short(8)...)},
		{259, 3, 1, short(1)}, {262, 3, 1, short(2)},
		{270, 2, uint32(len(desc)), desc},
		{273, 4, 1, nil}, // strip offset, patched below
		{277, 3, 1, short(3)}, {278, 3, 1, short(uint16(s.H))},
		{279, 4, 1, long(uint32(len(pix)))}, {284, 3, 1, short(1)},
		{315, 2, uint32(len(artist)), artist},
		{33432, 2, uint32(len(copyr)), copyr},
	}
	ifdLen := 2 + 12*len(entries) + 4
	extra := uint32(8 + ifdLen)
	var ifd, tail bytes.Buffer
	ifd.Write(short(uint16(len(entries))))
	for _, e := range entries {
		ifd.Write(short(e.tag))
		ifd.Write(short(e.typ))
		ifd.Write(long(e.count))
		switch {
		case e.tag == 273:
			continue // written after the loop knows the tail size
		case len(e.value) <= 4:
			v := append(append([]byte{}, e.value...), make([]byte, 4-len(e.value))...)
			ifd.Write(v)
		default:
			ifd.Write(long(extra + uint32(tail.Len())))
			tail.Write(e.value)
			if tail.Len()%2 == 1 {
				tail.WriteByte(0)
			}
		}
	}
	ifd.Write(long(0))
	// Patch the strip offset: pixels follow the tail.
	b := ifd.Bytes()
	for i := 0; i < len(entries); i++ {
		if entries[i].tag == 273 {
			at := 2 + 12*i + 8
			b = append(b[:at], append(long(extra+uint32(tail.Len())), b[at:]...)...)
		}
	}
	var out bytes.Buffer
	out.WriteString("II*\x00")
	out.Write(long(8))
	out.Write(b)
	out.Write(tail.Bytes())
	out.Write(pix)
	_, err := w.Write(out.Bytes())
	return err
}
