package photo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/png"
	"io"

	"hdw/masking"
)

// PNG: chunks outside a safe list removed, the rest copied as it is.

var pngKeep = map[string]bool{"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true, "tRNS": true, "gAMA": true,
	"cHRM": true, "sRGB": true, "iCCP": true, "sBIT": true, "bKGD": true, "pHYs": true}

// png rewrites a PNG chunk by chunk. A kept chunk that fits the read
// buffer is checked (CRC, IHDR limits) in place and written in one piece;
// a larger one (IDAT) is written in buffer-sized pieces while its CRC is
// computed, and checked at its end (on a mismatch the caller discards the
// partial output, as for every error).
func (h *Handler) png(ctx context.Context, dst io.Writer, r *bufio.Reader, size int64, o masking.Options) (masking.Result, error) {
	res := masking.Result{Format: "png", Ext: ".png"}
	sig, err := r.Peek(8)
	if err != nil {
		return res, masking.Quarantine("PNG structure is damaged")
	}
	needPixels := len(o.Boxes) > 0 || o.Faces
	var buf bytes.Buffer
	out := newOutput(dst, true)
	if needPixels {
		out = newOutput(&buf, false)
	}
	if _, err := out.Write(sig); err != nil {
		return res, err
	}
	r.Discard(8)
	dropped := 0
	for {
		hdr, err := r.Peek(8)
		if err != nil {
			return res, masking.Quarantine("PNG structure is damaged (no IEND)")
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if int64(n) > size {
			return res, masking.Quarantine("PNG chunk larger than the file")
		}
		typ := string(hdr[4:8])
		if !pngKeep[typ] {
			if k, _ := r.Discard(8 + int(n) + 4); k < 8+int(n)+4 {
				return res, masking.Quarantine("PNG structure is damaged")
			}
			dropped++
			continue
		}
		if 8+int(n)+4 <= r.Size() {
			c, err := r.Peek(8 + int(n) + 4)
			if err != nil {
				return res, masking.Quarantine("PNG structure is damaged")
			}
			data := c[8 : 8+n]
			if crc32.Update(crc32.ChecksumIEEE(c[4:8]), crc32.IEEETable, data) != binary.BigEndian.Uint32(c[8+n:]) {
				return res, masking.Quarantine("PNG chunk checksum mismatch")
			}
			if err := checkIHDR(typ, data, o); err != nil {
				return res, err
			}
			if typ == "IDAT" { // compressed image data, copied: not scanned (output)
				err = out.image(c, 8, 8+int(n))
			} else {
				_, err = out.Write(c)
			}
			if err != nil {
				return res, err
			}
			r.Discard(len(c))
		} else if err := copyChunk(out, r, typ, int(n), o); err != nil {
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
	pc, err := png.DecodeConfig(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return res, masking.Quarantine("PNG cannot be decoded for masking")
	}
	img, release, err := h.decodeForMasking(ctx, int64(pc.Width)*int64(pc.Height), buf.Bytes(), png.Decode, "PNG")
	if err != nil {
		return res, err
	}
	defer release()
	m, err := h.mask(ctx, &img, o)
	if err != nil {
		return res, err
	}
	if m.regions == 0 {
		err := out.flushTo(dst, buf.Bytes())
		res.Actions = append(res.Actions, "png:lossless", "faces:0")
		return res, err
	}
	res.Actions = append(res.Actions, m.actions()...)
	return res, png.Encode(dst, img)
}

// checkIHDR applies the header checks to an IHDR chunk's data.
func checkIHDR(typ string, data []byte, o masking.Options) error {
	if typ != "IHDR" {
		return nil
	}
	if len(data) < 8 {
		return masking.Quarantine("PNG header is damaged")
	}
	w, hgt := binary.BigEndian.Uint32(data[0:4]), binary.BigEndian.Uint32(data[4:8])
	if int64(w)*int64(hgt) > maxPixels(o) || w == 0 || hgt == 0 {
		return masking.Quarantine("image dimensions exceed limit (%dx%d)", w, hgt)
	}
	return nil
}

// copyChunk writes a kept chunk of n data bytes larger than r's buffer in
// pieces, computing its CRC on the way, then checks the CRC and (for an
// oversized IHDR) the header, as the in-place path does.
func copyChunk(w *output, r *bufio.Reader, typ string, n int, o masking.Options) error {
	hdr, _ := r.Peek(8)
	crc := crc32.ChecksumIEEE(hdr[4:8])
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	r.Discard(8)
	var head [8]byte // first data bytes, for checkIHDR
	nHead := 0
	for left := n; left > 0; {
		if r.Buffered() == 0 {
			r.Peek(1)
		}
		p, _ := r.Peek(min(left, r.Buffered()))
		if len(p) == 0 {
			return masking.Quarantine("PNG structure is damaged")
		}
		crc = crc32.Update(crc, crc32.IEEETable, p)
		nHead += copy(head[nHead:], p)
		to := 0
		if typ == "IDAT" {
			to = len(p) // compressed image data, copied: not scanned (output)
		}
		if err := w.image(p, 0, to); err != nil {
			return err
		}
		r.Discard(len(p))
		left -= len(p)
	}
	c, err := r.Peek(4)
	if err != nil {
		return masking.Quarantine("PNG structure is damaged")
	}
	if crc != binary.BigEndian.Uint32(c) {
		return masking.Quarantine("PNG chunk checksum mismatch")
	}
	if err := checkIHDR(typ, head[:nHead], o); err != nil {
		return err
	}
	_, err = w.Write(c)
	r.Discard(4)
	return err
}
