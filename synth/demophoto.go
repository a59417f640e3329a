package synth

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
)

// ExifJPEG writes a synthetic w x h JPEG whose EXIF (Artist, camera
// serial, dates, GPS position) and comment segment carry p's identifiers,
// with orientation o (1-8) and trailing bytes after EOI.
func ExifJPEG(out io.Writer, p Person, w, h, o int) error {
	s := demoPhotoSpec(p, w, h)
	s.Orientation = o
	s.Trailer = []byte("TRAILER " + p.LastName)
	return demoJPEG(out, s)
}

// TextPNG writes a synthetic PNG whose tEXt, zTXt, iTXt and eXIf chunks
// carry p's identifiers.
func TextPNG(out io.Writer, p Person, w, h int) error {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var enc bytes.Buffer
	if err := png.Encode(&enc, img); err != nil {
		return err
	}
	b := enc.Bytes()
	chunk := func(typ string, data []byte) []byte {
		c := make([]byte, 8, 12+len(data))
		binary.BigEndian.PutUint32(c, uint32(len(data)))
		copy(c[4:], typ)
		c = append(c, data...)
		crc := crc32.Update(crc32.ChecksumIEEE([]byte(typ)), crc32.IEEETable, data)
		return binary.BigEndian.AppendUint32(c, crc)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(p.Address + " " + p.Phone))
	zw.Close()
	extra := [][]byte{
		chunk("tEXt", []byte("Author\x00"+p.FirstName+" "+p.LastName)),
		chunk("zTXt", append([]byte("Comment\x00\x00"), z.Bytes()...)),
		chunk("iTXt", []byte("Description\x00\x00\x00\x00\x00"+p.NIR+" "+p.BirthDate)),
		chunk("eXIf", exifBlock(demoPhotoSpec(p, w, h))),
		chunk("tIME", []byte{7, 234, 1, 2, 3, 4, 5}),
	}
	// After IHDR (8-byte signature + 25-byte IHDR chunk).
	if _, err := out.Write(b[:33]); err != nil {
		return err
	}
	for _, c := range extra {
		if _, err := out.Write(c); err != nil {
			return err
		}
	}
	_, err := out.Write(b[33:])
	return err
}

// demoPhoto describes the JPEG of the demo upload: a synthetic picture
// with EXIF (Artist, camera serial, date, GPS position) and a comment
// segment that carry the person's identifiers.
type demoPhoto struct {
	W, H    int
	Artist  string
	Serial  string
	Date    string // "2006:01:02 15:04:05"
	Comment string
	Lat     [3]uint32 // degrees, minutes, seconds
	Lon     [3]uint32
	// Orientation is the EXIF orientation (0: none).
	Orientation int
	Trailer     []byte
	// MakerNote and Thumbnail (a JPEG stream), when set, add an Exif
	// MakerNote tag and an IFD1 thumbnail (camera photos only: nil keeps
	// the demo and golden outputs unchanged).
	MakerNote []byte
	Thumbnail []byte
}

func demoPhotoSpec(p Person, w, h int) demoPhoto {
	return demoPhoto{W: w, H: h, Artist: p.FirstName + " " + p.LastName, Serial: "SN" + strings.ReplaceAll(p.PPI, "PPI", ""),
		Date: strings.ReplaceAll(p.BirthDate, "-", ":") + " 10:11:12", Comment: p.LastName + " " + p.Phone,
		Lat: [3]uint32{48, 51, 24}, Lon: [3]uint32{2, 21, 8}}
}

// demoJPEG writes the photo.
func demoJPEG(w io.Writer, s demoPhoto) error {
	enc, err := flatPixels(s.W, s.H)
	if err != nil {
		return err
	}
	return writeDemoJPEG(w, s, enc)
}

// flatPixels encodes the flat gradient picture of the demo and of the zero
// PhotoSpec (quality 85).
func flatPixels(w, h int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return enc.Bytes(), nil
}

// writeDemoJPEG writes SOI, APP1 Exif, COM, then the rest of the encoded
// stream b (from image/jpeg) and s.Trailer.
func writeDemoJPEG(w io.Writer, s demoPhoto, b []byte) error {
	if _, err := w.Write(b[:2]); err != nil {
		return err
	}
	exif := exifBlock(s)
	seg := func(marker byte, payload []byte) error {
		h := []byte{0xFF, marker, 0, 0}
		binary.BigEndian.PutUint16(h[2:], uint16(len(payload)+2))
		if _, err := w.Write(h); err != nil {
			return err
		}
		_, err := w.Write(payload)
		return err
	}
	if err := seg(0xE1, append([]byte("Exif\x00\x00"), exif...)); err != nil {
		return err
	}
	if err := seg(0xFE, []byte(s.Comment)); err != nil {
		return err
	}
	if _, err := w.Write(b[2:]); err != nil {
		return err
	}
	_, err := w.Write(s.Trailer)
	return err
}

// exifBlock builds a little-endian TIFF structure: IFD0 (Artist, Make,
// DateTime, ExifIFD pointer, GPS pointer), Exif IFD (BodySerialNumber,
// DateTimeOriginal), GPS IFD (latitude and longitude).
func exifBlock(s demoPhoto) []byte {
	type entry struct {
		tag, typ uint16
		count    uint32
		data     []byte // inline when <= 4 bytes
	}
	le := binary.LittleEndian
	ascii := func(v string) []byte { return append([]byte(v), 0) }
	rational := func(v [3]uint32) []byte {
		out := make([]byte, 24)
		for i, n := range v {
			le.PutUint32(out[i*8:], n)
			le.PutUint32(out[i*8+4:], 1)
		}
		return out
	}
	u32 := func(v uint32) []byte { b := make([]byte, 4); le.PutUint32(b, v); return b }
	var buf bytes.Buffer
	buf.Write([]byte{'I', 'I', 42, 0, 8, 0, 0, 0})
	// layout: IFD0 at 8, then Exif IFD, then GPS IFD, then data area.
	writeIFD := func(start uint32, entries []entry, next uint32) (ifd []byte, data []byte) {
		size := uint32(2 + 12*len(entries) + 4)
		dataOff := start + size
		ifd = make([]byte, 2, size)
		le.PutUint16(ifd, uint16(len(entries)))
		for _, e := range entries {
			rec := make([]byte, 12)
			le.PutUint16(rec[0:], e.tag)
			le.PutUint16(rec[2:], e.typ)
			le.PutUint32(rec[4:], e.count)
			if len(e.data) <= 4 {
				copy(rec[8:], e.data)
			} else {
				le.PutUint32(rec[8:], dataOff+uint32(len(data)))
				data = append(data, e.data...)
				if len(data)%2 == 1 {
					data = append(data, 0)
				}
			}
			ifd = append(ifd, rec...)
		}
		ifd = append(ifd, u32(next)...)
		return ifd, data
	}
	ifdSize := func(n int, data int) uint32 { return uint32(2+12*n+4) + uint32(data) }
	exifEntries := []entry{{0xA431, 2, uint32(len(s.Serial) + 1), ascii(s.Serial)}, {0x9003, 2, 20, ascii(s.Date)}}
	if s.MakerNote != nil { // tags in ascending order, as cameras write them
		exifEntries = []entry{exifEntries[1], {0x927C, 7, uint32(len(s.MakerNote)), s.MakerNote}, exifEntries[0]}
	}
	gpsEntries := []entry{{0x0001, 2, 2, ascii("N")}, {0x0002, 5, 3, rational(s.Lat)}, {0x0003, 2, 2, ascii("E")}, {0x0004, 5, 3, rational(s.Lon)}}
	ifd0Entries := func(exifOff, gpsOff uint32) []entry {
		e := []entry{{0x010F, 2, 9, ascii("SynthCam")}}
		if s.Orientation > 0 {
			o := make([]byte, 4)
			le.PutUint16(o, uint16(s.Orientation))
			e = append(e, entry{0x0112, 3, 1, o})
		}
		return append(e, entry{0x0132, 2, 20, ascii(s.Date)}, entry{0x013B, 2, uint32(len(s.Artist) + 1), ascii(s.Artist)},
			entry{0x8769, 4, 1, u32(exifOff)}, entry{0x8825, 4, 1, u32(gpsOff)})
	}
	// First pass to size IFD0.
	n0 := len(ifd0Entries(0, 0))
	_, d0 := writeIFD(8, ifd0Entries(0, 0), 0)
	exifOff := 8 + ifdSize(n0, len(d0))
	_, de := writeIFD(exifOff, exifEntries, 0)
	gpsOff := exifOff + ifdSize(len(exifEntries), len(de))
	var ifd1Off uint32
	if s.Thumbnail != nil {
		// IFD1 (the thumbnail's IFD) after the GPS IFD, the thumbnail after IFD1.
		_, dg := writeIFD(gpsOff, gpsEntries, 0)
		ifd1Off = gpsOff + ifdSize(len(gpsEntries), len(dg))
	}
	i0, d0 := writeIFD(8, ifd0Entries(exifOff, gpsOff), ifd1Off)
	ie, de := writeIFD(exifOff, exifEntries, 0)
	ig, dg := writeIFD(gpsOff, gpsEntries, 0)
	for _, p := range [][]byte{i0, d0, ie, de, ig, dg} {
		buf.Write(p)
	}
	if s.Thumbnail != nil {
		ifd1 := []entry{{0x0103, 3, 1, []byte{6, 0}}, {0x0128, 3, 1, []byte{2, 0}}, {0x0201, 4, 1, nil}, {0x0202, 4, 1, u32(uint32(len(s.Thumbnail)))}}
		ifd1[2].data = u32(ifd1Off + ifdSize(len(ifd1), 0))
		i1, _ := writeIFD(ifd1Off, ifd1, 0)
		buf.Write(i1)
		buf.Write(s.Thumbnail)
	}
	return buf.Bytes()
}
