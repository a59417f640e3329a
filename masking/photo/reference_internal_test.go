package photo

// The implementation of the JPEG and PNG rewriters before the streaming
// rewrite (commit f634c16), kept as the reference of the differential tests:
// the streaming rewriters must produce the same bytes and the same errors.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/jpeg"
	"image/png"
	"io"

	"hdw/masking"
)

// segment is a marker segment of the reference rewriter.
type segment struct {
	marker byte
	data   []byte // payload without the length bytes
}

func refReadSegment(r *bufio.Reader) (segment, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:2]); err != nil {
		return segment{}, errBadJPEG
	}
	for b[0] == 0xFF && b[1] == 0xFF { // fill bytes
		b[1], _ = r.ReadByte()
	}
	if b[0] != 0xFF {
		return segment{}, errBadJPEG
	}
	m := b[1]
	if m == 0xD8 || m == 0xD9 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
		return segment{marker: m}, nil
	}
	if _, err := io.ReadFull(r, b[2:4]); err != nil {
		return segment{}, errBadJPEG
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < 2 {
		return segment{}, errBadJPEG
	}
	data := make([]byte, n-2)
	if _, err := io.ReadFull(r, data); err != nil {
		return segment{}, errBadJPEG
	}
	return segment{marker: m, data: data}, nil
}

func refWriteSegment(w io.Writer, s segment) error {
	if s.data == nil && (s.marker == 0xD8 || s.marker == 0xD9 || (s.marker >= 0xD0 && s.marker <= 0xD7)) {
		_, err := w.Write([]byte{0xFF, s.marker})
		return err
	}
	h := []byte{0xFF, s.marker, 0, 0}
	binary.BigEndian.PutUint16(h[2:], uint16(len(s.data)+2))
	if _, err := w.Write(h); err != nil {
		return err
	}
	_, err := w.Write(s.data)
	return err
}

func (h *Handler) refJPEG(ctx context.Context, dst io.Writer, r *bufio.Reader, size int64, o masking.Options) (masking.Result, error) {
	res := masking.Result{Format: "jpeg", Ext: ".jpg"}
	first, err := refReadSegment(r)
	if err != nil || first.marker != 0xD8 {
		return res, errBadJPEG
	}
	var header []segment
	var icc [][]byte
	orientation := 1
	var w, hgt int
	dropped := 0
	for {
		s, err := refReadSegment(r)
		if err != nil {
			return res, err
		}
		if s.marker == 0xE1 {
			if v := exifOrientation(s.data); v != 1 {
				orientation = v
			}
		}
		if isSOF(s.marker) && len(s.data) >= 5 {
			hgt = int(binary.BigEndian.Uint16(s.data[1:3]))
			w = int(binary.BigEndian.Uint16(s.data[3:5]))
			if int64(w)*int64(hgt) > maxPixels(o) || w == 0 {
				return res, masking.Quarantine("image dimensions exceed limit (%dx%d)", w, hgt)
			}
		}
		if s.marker == 0xE2 && bytes.HasPrefix(s.data, []byte("ICC_PROFILE\x00")) {
			icc = append(icc, s.data)
		}
		if !keepSegment(s.marker, s.data) {
			dropped++
			continue
		}
		header = append(header, s)
		if s.marker == 0xDA { // SOS: entropy-coded data follows
			break
		}
		if s.marker == 0xD9 {
			return res, errBadJPEG
		}
	}
	if w == 0 {
		return res, errBadJPEG
	}
	res.Actions = append(res.Actions, fmt.Sprintf("jpeg:segments-removed:%d", dropped))
	// Copy the scans, dropping APP/COM segments between scans and any
	// trailer after EOI.
	var body bytes.Buffer
	needPixels := orientation != 1 || len(o.Boxes) > 0 || o.Faces
	var out io.Writer = dst
	if needPixels {
		out = &body
	}
	if _, err := out.Write([]byte{0xFF, 0xD8}); err != nil {
		return res, err
	}
	for _, s := range header {
		if err := refWriteSegment(out, s); err != nil {
			return res, err
		}
	}
	if err := refCopyScans(out, r); err != nil {
		return res, err
	}
	if !needPixels {
		res.Actions = append(res.Actions, "jpeg:lossless")
		return res, nil
	}
	img, err := jpeg.Decode(bytes.NewReader(body.Bytes()))
	if err != nil {
		return res, masking.Quarantine("JPEG cannot be decoded for masking")
	}
	img = orient(img, orientation)
	if orientation != 1 {
		res.Actions = append(res.Actions, fmt.Sprintf("orientation:%d-baked", orientation))
	}
	n, eyes, err := h.mask(ctx, &img, o)
	if err != nil {
		return res, err
	}
	if n == 0 && orientation == 1 {
		// Nothing to change: the lossless copy stands.
		_, err := dst.Write(body.Bytes())
		res.Actions = append(res.Actions, "jpeg:lossless", "faces:0")
		return res, err
	}
	res.Actions = append(res.Actions, fmt.Sprintf("masked-regions:%d", n), fmt.Sprintf("masked-eyes:%d", eyes))
	return res, encodeJPEG(dst, img, icc)
}

func refCopyScans(w io.Writer, r *bufio.Reader) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for {
		b, err := r.ReadByte()
		if err != nil {
			return errBadJPEG // no EOI
		}
		if b != 0xFF {
			bw.WriteByte(b)
			continue
		}
		m, err := r.ReadByte()
		if err != nil {
			return errBadJPEG
		}
		for m == 0xFF {
			m, err = r.ReadByte()
			if err != nil {
				return errBadJPEG
			}
		}
		switch {
		case m == 0x00 || (m >= 0xD0 && m <= 0xD7):
			bw.WriteByte(0xFF)
			bw.WriteByte(m)
		case m == 0xD9:
			bw.Write([]byte{0xFF, 0xD9})
			return bw.Flush()
		default:
			r.UnreadByte() // back on the marker byte
			s, err := refReadSegmentAfterFF(r, m)
			if err != nil {
				return err
			}
			if keepSegment(s.marker, s.data) {
				if err := refWriteSegment(bw, s); err != nil {
					return err
				}
			}
		}
	}
}

func refReadSegmentAfterFF(r *bufio.Reader, m byte) (segment, error) {
	// The reader is positioned on m (UnreadByte restored one byte).
	if b, err := r.ReadByte(); err != nil || b != m {
		return segment{}, errBadJPEG
	}
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return segment{}, errBadJPEG
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n < 2 {
		return segment{}, errBadJPEG
	}
	data := make([]byte, n-2)
	if _, err := io.ReadFull(r, data); err != nil {
		return segment{}, errBadJPEG
	}
	return segment{marker: m, data: data}, nil
}

func (h *Handler) refPNG(ctx context.Context, dst io.Writer, r *bufio.Reader, size int64, o masking.Options) (masking.Result, error) {
	res := masking.Result{Format: "png", Ext: ".png"}
	sig := make([]byte, 8)
	if _, err := io.ReadFull(r, sig); err != nil {
		return res, masking.Quarantine("PNG structure is damaged")
	}
	needPixels := len(o.Boxes) > 0 || o.Faces
	var buf bytes.Buffer
	var out io.Writer = dst
	if needPixels {
		out = &buf
	}
	out.Write(sig)
	dropped := 0
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return res, masking.Quarantine("PNG structure is damaged (no IEND)")
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		typ := string(hdr[4:8])
		if int64(n) > size {
			return res, masking.Quarantine("PNG chunk larger than the file")
		}
		if typ == "IHDR" && n >= 8 {
			// handled below after reading
		}
		keep := pngKeep[typ]
		var crc [4]byte
		if !keep {
			if _, err := io.CopyN(io.Discard, r, int64(n)+4); err != nil {
				return res, masking.Quarantine("PNG structure is damaged")
			}
			dropped++
			continue
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return res, masking.Quarantine("PNG structure is damaged")
		}
		if _, err := io.ReadFull(r, crc[:]); err != nil {
			return res, masking.Quarantine("PNG structure is damaged")
		}
		if crc32.Update(crc32.ChecksumIEEE(hdr[4:8]), crc32.IEEETable, data) != binary.BigEndian.Uint32(crc[:]) {
			return res, masking.Quarantine("PNG chunk checksum mismatch")
		}
		if typ == "IHDR" {
			if n < 8 {
				return res, masking.Quarantine("PNG header is damaged")
			}
			w, hgt := binary.BigEndian.Uint32(data[0:4]), binary.BigEndian.Uint32(data[4:8])
			if int64(w)*int64(hgt) > maxPixels(o) || w == 0 || hgt == 0 {
				return res, masking.Quarantine("image dimensions exceed limit (%dx%d)", w, hgt)
			}
		}
		out.Write(hdr[:])
		out.Write(data)
		if _, err := out.Write(crc[:]); err != nil {
			return res, err
		}
		if typ == "IEND" {
			break
		}
	}
	res.Actions = append(res.Actions, fmt.Sprintf("png:chunks-removed:%d", dropped))
	if !needPixels {
		res.Actions = append(res.Actions, "png:lossless")
		return res, nil
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return res, masking.Quarantine("PNG cannot be decoded for masking")
	}
	n, eyes, err := h.mask(ctx, &img, o)
	if err != nil {
		return res, err
	}
	if n == 0 {
		_, err := dst.Write(buf.Bytes())
		res.Actions = append(res.Actions, "png:lossless", "faces:0")
		return res, err
	}
	res.Actions = append(res.Actions, fmt.Sprintf("masked-regions:%d", n), fmt.Sprintf("masked-eyes:%d", eyes))
	return res, png.Encode(dst, img)
}
