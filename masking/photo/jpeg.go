package photo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"io"

	"github.com/disintegration/imaging"

	"hdw/masking"
)

// JPEG: metadata segments removed, entropy-coded data copied as it is
// (lossless), orientation baked and pixels masked only when needed.

// bufSize is the size of the pooled read buffers: at least one whole
// marker segment (65,537 bytes) must fit, so that segments are inspected
// in place (Peek) instead of being copied.
const bufSize = 256 << 10

var errBadJPEG = masking.Quarantine("JPEG structure is damaged")

// isStandalone reports whether a marker has no length field (SOI, EOI,
// RSTn, TEM).
func isStandalone(m byte) bool {
	return m == 0xD8 || m == 0xD9 || (m >= 0xD0 && m <= 0xD7) || m == 0x01
}

// peekSegment returns the next header segment's marker and payload
// (without the length bytes) as a view of r's buffer, valid until the
// next read of r, and the number of bytes to discard to consume the
// segment (fill bytes, marker, length, payload). Standalone markers have a
// nil payload.
func peekSegment(r *bufio.Reader) (m byte, data []byte, n int, err error) {
	b, err := r.Peek(2)
	if err != nil || b[0] != 0xFF {
		return 0, nil, 0, errBadJPEG
	}
	fill := 0
	for b[1] == 0xFF { // fill bytes
		fill++
		if b, err = r.Peek(fill + 2); err != nil {
			return 0, nil, 0, errBadJPEG
		}
		b = b[fill:]
	}
	m = b[1]
	if isStandalone(m) {
		return m, nil, fill + 2, nil
	}
	if b, err = r.Peek(fill + 4); err != nil {
		return 0, nil, 0, errBadJPEG
	}
	l := int(binary.BigEndian.Uint16(b[fill+2:]))
	if l < 2 {
		return 0, nil, 0, errBadJPEG
	}
	if b, err = r.Peek(fill + 2 + l); err != nil {
		return 0, nil, 0, errBadJPEG
	}
	return m, b[fill+4:], fill + 2 + l, nil
}

// appendSegment appends a segment as the rewriter writes it: standalone
// SOI, EOI and RSTn as two bytes, any other marker (TEM included) with a
// length field.
func appendSegment(b *bytes.Buffer, m byte, data []byte) {
	if data == nil && m != 0x01 && isStandalone(m) {
		b.Write([]byte{0xFF, m})
		return
	}
	b.Write([]byte{0xFF, m, byte((len(data) + 2) >> 8), byte(len(data) + 2)})
	b.Write(data)
}

// keepSegment decides which header segments survive.
func keepSegment(m byte, data []byte) bool {
	switch {
	case m == 0xE0: // APP0: JFIF/JFXX; JFXX may carry a thumbnail: keep JFIF only
		return bytes.HasPrefix(data, []byte("JFIF\x00"))
	case m == 0xE2:
		return bytes.HasPrefix(data, []byte("ICC_PROFILE\x00"))
	case m == 0xEE: // Adobe: colour transform, no text
		return bytes.HasPrefix(data, []byte("Adobe"))
	case m >= 0xE1 && m <= 0xEF: // APP1 EXIF/XMP, APP13 IPTC, others
		return false
	case m == 0xFE: // COM
		return false
	}
	return true // DQT, DHT, SOFn, DRI, SOS ...
}

func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
}

// exifOrientation returns the orientation tag of an APP1 Exif payload (1 if absent).
func exifOrientation(data []byte) int {
	if !bytes.HasPrefix(data, []byte("Exif\x00\x00")) || len(data) < 14 {
		return 1
	}
	t := data[6:]
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(t[4:8]))
	if off < 8 || off+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[off:]))
	for i := 0; i < n && off+2+12*i+12 <= len(t); i++ {
		e := t[off+2+12*i:]
		if bo.Uint16(e[0:2]) == 0x0112 {
			v := int(bo.Uint16(e[8:10]))
			if v >= 1 && v <= 8 {
				return v
			}
		}
	}
	return 1
}

// jpeg rewrites a JPEG: header segments are inspected in r's buffer and
// the kept ones gathered in a pooled buffer (one write); the entropy-coded
// data is then copied in spans of up to bufSize bytes straight from r's
// buffer to the output (copyScans). Nothing is decoded unless a pixel
// must change (orientation, boxes, faces).
func (h *Handler) jpeg(ctx context.Context, dst io.Writer, r *bufio.Reader, size int64, o masking.Options) (masking.Result, error) {
	res := masking.Result{Format: "jpeg", Ext: ".jpg"}
	m, _, n, err := peekSegment(r)
	if err != nil || m != 0xD8 {
		return res, errBadJPEG
	}
	r.Discard(n)
	hdr := h.getBuffer()
	defer h.putBuffer(hdr)
	hdr.Write([]byte{0xFF, 0xD8})
	var iccAt [][2]int // ICC payloads in hdr (for the re-encode path)
	orientation := 1
	var w, hgt int
	dropped := 0
	for {
		m, data, n, err := peekSegment(r)
		if err != nil {
			return res, err
		}
		if m == 0xE1 {
			if v := exifOrientation(data); v != 1 {
				orientation = v
			}
		}
		if isSOF(m) && len(data) >= 5 {
			hgt = int(binary.BigEndian.Uint16(data[1:3]))
			w = int(binary.BigEndian.Uint16(data[3:5]))
			if int64(w)*int64(hgt) > maxPixels(o) || w == 0 {
				return res, masking.Quarantine("image dimensions exceed limit (%dx%d)", w, hgt)
			}
		}
		if !keepSegment(m, data) {
			dropped++
			r.Discard(n)
			continue
		}
		if m == 0xE2 { // kept APP2: ICC profile
			iccAt = append(iccAt, [2]int{hdr.Len() + 4, hdr.Len() + 4 + len(data)})
		}
		appendSegment(hdr, m, data)
		r.Discard(n)
		if m == 0xDA { // SOS: entropy-coded data follows
			break
		}
		if m == 0xD9 {
			return res, errBadJPEG
		}
	}
	if w == 0 {
		return res, errBadJPEG
	}
	res.Actions = append(res.Actions, fmt.Sprintf("jpeg:segments-removed:%d", dropped))
	// Copy the scans, dropping APP/COM segments between scans and any
	// trailer after EOI.
	needPixels := orientation != 1 || len(o.Boxes) > 0 || o.Faces
	var body bytes.Buffer
	out := newOutput(dst, true)
	if needPixels {
		body.Grow(int(min(size, 64<<20)))
		out = newOutput(&body, false)
	}
	if _, err := out.Write(hdr.Bytes()); err != nil {
		return res, err
	}
	if err := copyScans(out, r); err != nil {
		return res, err
	}
	if !needPixels {
		res.Actions = append(res.Actions, "jpeg:lossless")
		return res, nil
	}
	img, release, err := h.decodeForMasking(ctx, int64(w)*int64(hgt), body.Bytes(), jpeg.Decode, "JPEG")
	if err != nil {
		return res, err
	}
	defer release()
	img = orient(img, orientation)
	if orientation != 1 {
		res.Actions = append(res.Actions, fmt.Sprintf("orientation:%d-baked", orientation))
	}
	mk, err := h.mask(ctx, &img, o)
	if err != nil {
		return res, err
	}
	if mk.regions == 0 && orientation == 1 {
		// Nothing to change: the lossless copy stands.
		err := out.flushTo(dst, body.Bytes())
		res.Actions = append(res.Actions, "jpeg:lossless", "faces:0")
		return res, err
	}
	res.Actions = append(res.Actions, mk.actions()...)
	icc := make([][]byte, len(iccAt))
	for i, at := range iccAt {
		icc[i] = hdr.Bytes()[at[0]:at[1]]
	}
	return res, encodeJPEG(dst, img, icc)
}

// copyScans copies entropy-coded data and the segments between scans until
// EOI, which it writes; bytes after EOI are dropped. Runs of entropy-coded
// bytes, stuffed 0xFF00, RSTn markers and a final EOI included, are written
// as they lie in r's buffer (one write per buffer); only a marker (a
// segment between scans) or fill bytes (0xFF 0xFF..., dropped) take the
// slow path, copyMarker. The spans are compressed image data copied from
// the input: the residual scan need not read them (see [output]); the
// segments between scans are scanned.
func copyScans(w *output, r *bufio.Reader) error {
	for {
		if r.Buffered() < 2 {
			r.Peek(2) // fill; a short buffer is handled below
		}
		buf, _ := r.Peek(r.Buffered())
		n, end := scanSpan(buf)
		if n > 0 {
			if err := w.image(buf[:n], 0, n); err != nil {
				return err
			}
			r.Discard(n)
		}
		switch end {
		case spanEOI:
			return nil
		case spanMarker:
			done, err := copyMarker(w, r)
			if done || err != nil {
				return err
			}
		case spanMore:
			if n == 0 && len(buf) < 2 {
				// The input ends here (no EOI), or on a lone 0xFF.
				return errBadJPEG
			}
		}
	}
}

// How a span of entropy-coded data ends.
const (
	spanMore   = iota // end of the buffered bytes (perhaps on a 0xFF whose next byte is not buffered)
	spanMarker        // a marker or fill bytes follow
	spanEOI           // the span ends with EOI
)

// scanSpan returns how many leading bytes of buf to copy as they are and
// how the span ends.
func scanSpan(buf []byte) (n int, end int) {
	i := 0
	for {
		j := bytes.IndexByte(buf[i:], 0xFF)
		if j < 0 {
			return len(buf), spanMore
		}
		k := i + j
		if k+1 == len(buf) {
			return k, spanMore
		}
		switch m := buf[k+1]; {
		case m == 0x00 || (m >= 0xD0 && m <= 0xD7):
			i = k + 2
		case m == 0xD9:
			return k + 2, spanEOI
		default:
			return k, spanMarker
		}
	}
}

// copyMarker handles the marker r is positioned on (0xFF, then fill bytes,
// then the marker byte): stuffed bytes and RSTn are written without their
// fill bytes, EOI is written and ends the copy (done), a segment between
// scans is written when keepSegment keeps it.
func copyMarker(w io.Writer, r *bufio.Reader) (done bool, err error) {
	b, err := r.Peek(2)
	if err != nil {
		return false, errBadJPEG
	}
	fill := 0
	for b[1] == 0xFF {
		fill++
		if b, err = r.Peek(fill + 2); err != nil {
			return false, errBadJPEG
		}
		b = b[fill:]
	}
	m := b[1]
	switch {
	case m == 0x00 || (m >= 0xD0 && m <= 0xD7):
		_, err := w.Write([]byte{0xFF, m})
		r.Discard(fill + 2)
		return false, err
	case m == 0xD9:
		_, err := w.Write([]byte{0xFF, 0xD9})
		return true, err
	}
	// Between scans every marker is read with a length field.
	if b, err = r.Peek(fill + 4); err != nil {
		return false, errBadJPEG
	}
	l := int(binary.BigEndian.Uint16(b[fill+2:]))
	if l < 2 {
		return false, errBadJPEG
	}
	if b, err = r.Peek(fill + 2 + l); err != nil {
		return false, errBadJPEG
	}
	seg := b[fill:]
	if keepSegment(m, seg[4:]) {
		if _, err := w.Write(seg); err != nil {
			return false, err
		}
	}
	r.Discard(fill + 2 + l)
	return false, nil
}

// orientations are the transforms that bake EXIF orientations 2 to 8 in.
var orientations = map[int]func(image.Image) *image.NRGBA{
	2: imaging.FlipH, 3: imaging.Rotate180, 4: imaging.FlipV, 5: imaging.Transpose,
	6: imaging.Rotate270, 7: imaging.Transverse, 8: imaging.Rotate90,
}

// orient bakes EXIF orientation o into img.
func orient(img image.Image, o int) image.Image {
	if f, ok := orientations[o]; ok {
		return f(img)
	}
	return img
}

func encodeJPEG(w io.Writer, img image.Image, icc [][]byte) error {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		return err
	}
	b := buf.Bytes()
	var head bytes.Buffer
	head.Write(b[:2])
	for _, p := range icc {
		appendSegment(&head, 0xE2, p)
	}
	if _, err := w.Write(head.Bytes()); err != nil {
		return err
	}
	_, err := w.Write(b[2:])
	return err
}
