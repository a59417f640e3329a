package codec

import "encoding/binary"

// frameHeader is what a codestream declares of its frame, read in Go
// before any C code sees the stream.
type frameHeader struct {
	marker     byte // JPEG: the SOFn marker (0xF7 for JPEG-LS)
	precision  int
	rows, cols int
	comps      int
	lossy      bool
	mct        bool // JPEG 2000: the multiple component transform is used
}

// readSOF reads the frame header of a JPEG or JPEG-LS stream: the first
// SOFn segment after SOI, walking the marker segments by their lengths.
func readSOF(b []byte) (frameHeader, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return frameHeader{}, ErrCorrupt
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return frameHeader{}, ErrCorrupt
		}
		m := b[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0x01 || m >= 0xD0 && m <= 0xD7: // no length
			i += 2
			continue
		case m == 0xDA || m == 0xD9 || m == 0xD8: // scan or end before the frame header
			return frameHeader{}, ErrCorrupt
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return frameHeader{}, ErrCorrupt
		}
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC || m == 0xF7 {
			if n < 8 {
				return frameHeader{}, ErrCorrupt
			}
			s := b[i+4:]
			h := frameHeader{marker: m, precision: int(s[0]), rows: int(binary.BigEndian.Uint16(s[1:])),
				cols: int(binary.BigEndian.Uint16(s[3:])), comps: int(s[5])}
			switch m {
			case 0xC3, 0xC7, 0xCB, 0xCF, 0xF7: // lossless processes; JPEG-LS near is read by the decoder
			default:
				h.lossy = true
			}
			return h, nil
		}
		i += 2 + n
	}
	return frameHeader{}, ErrCorrupt
}

// check compares a frame header with the DICOM header.
func (h frameHeader) check(s Spec) error {
	if !s.valid() {
		return ErrMismatch
	}
	if h.rows != s.Rows || h.cols != s.Cols || h.comps != s.Samples || h.precision < 2 || h.precision > 16 {
		return ErrMismatch
	}
	if s.BitsAllocated == 8 && h.precision > 8 {
		return ErrMismatch
	}
	return nil
}

// j2kCodestream returns the J2K codestream of a raw codestream or of a JP2
// file (its contiguous codestream box).
func j2kCodestream(b []byte) ([]byte, bool) {
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0x4F {
		return b, true
	}
	for i := 0; i+8 <= len(b); {
		n := uint64(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		hdr := uint64(8)
		switch n {
		case 0:
			n = uint64(len(b) - i)
		case 1:
			if i+16 > len(b) {
				return nil, false
			}
			n, hdr = binary.BigEndian.Uint64(b[i+8:]), 16
		}
		if n < hdr || n > uint64(len(b)-i) {
			return nil, false
		}
		if typ == "jp2c" {
			return b[i+int(hdr) : i+int(n)], true
		}
		i += int(n)
	}
	return nil, false
}

// readSIZ reads the SIZ segment of a J2K codestream (it must follow SOC)
// and the wavelet of its COD segment.
func readSIZ(b []byte) (frameHeader, error) {
	if len(b) < 4+38 || b[0] != 0xFF || b[1] != 0x4F || b[2] != 0xFF || b[3] != 0x51 {
		return frameHeader{}, ErrCorrupt
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	if n < 41 || 4+n > len(b) {
		return frameHeader{}, ErrCorrupt
	}
	s := b[6:]
	u32 := func(o int) uint32 { return binary.BigEndian.Uint32(s[o:]) }
	xs, ys, xo, yo := u32(2), u32(6), u32(10), u32(14)
	xt, yt, xto, yto := u32(18), u32(22), u32(26), u32(30)
	comps := int(binary.BigEndian.Uint16(s[34:]))
	if xo >= xs || yo >= ys || xt == 0 || yt == 0 || xto > xo || yto > yo || comps < 1 || n != 38+3*comps {
		return frameHeader{}, ErrCorrupt
	}
	h := frameHeader{rows: int(ys - yo), cols: int(xs - xo), comps: comps}
	// Tiles: a forged tiling of a few pixels each would have the decoder
	// allocate a structure per tile; tiles average 256 pixels at least.
	tiles := uint64((xs-xto+xt-1)/xt) * uint64((ys-yto+yt-1)/yt)
	if tiles == 0 || tiles > 1+uint64(h.rows)*uint64(h.cols)/256 {
		return frameHeader{}, ErrMismatch
	}
	for c := 0; c < comps; c++ {
		p := int(s[36+3*c]&0x7F) + 1
		if c == 0 {
			h.precision = p
		}
		if p != h.precision || s[37+3*c] != 1 || s[38+3*c] != 1 { // subsampled components are not supported
			return frameHeader{}, ErrMismatch
		}
	}
	// COD: transform 0 is the irreversible 9-7 wavelet.
	for i := 4 + n; i+4 <= len(b); {
		if b[i] != 0xFF || b[i+1] == 0x90 {
			break
		}
		l := int(binary.BigEndian.Uint16(b[i+2:]))
		if l < 2 || i+2+l > len(b) {
			return frameHeader{}, ErrCorrupt
		}
		if b[i+1] == 0x52 && l >= 12 {
			h.lossy, h.mct = b[i+13] == 0, b[i+8] == 1
		}
		i += 2 + l
	}
	return h, nil
}
