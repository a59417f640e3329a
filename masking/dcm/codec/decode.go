package codec

import "math"

// JPEG decodes one frame of any JPEG process DICOM uses (baseline,
// extended 12-bit, lossless processes 14 and SV1) into dst, which must be
// s.FrameLen() bytes long. The frame header is checked against s first.
func JPEG(dst, src []byte, s Spec) (Info, error) {
	h, err := readSOF(src)
	if err != nil {
		return Info{}, err
	}
	if h.marker == 0xF7 {
		return Info{}, ErrCorrupt // JPEG-LS, not JPEG
	}
	if err := h.check(s); err != nil {
		return Info{}, err
	}
	if len(dst) != s.FrameLen() || len(src) > math.MaxUint32 {
		return Info{}, ErrMismatch
	}
	bits, width := 8, 1
	switch {
	case h.precision > 12:
		bits, width = 16, 2
	case h.precision > 8:
		bits, width = 12, 2
	}
	out := dst
	if width*8 != s.BitsAllocated {
		out = make([]byte, s.Rows*s.Cols*s.Samples) // 8-bit samples, widened below
	}
	if err := ijg(bits, out, src, s.YBR, s.Signed); err != nil {
		return Info{}, err
	}
	finish(dst, out, width, s.Signed)
	return Info{Lossy: h.lossy, RGB: s.YBR && s.Samples == 3}, nil
}

// JPEG2000 decodes one JPEG 2000 frame (a J2K codestream, or a JP2 file)
// into dst, which must be s.FrameLen() bytes long. The SIZ segment is
// checked against s before the library reads the stream.
func JPEG2000(dst, src []byte, s Spec) (Info, error) {
	cs, ok := j2kCodestream(src)
	if !ok {
		return Info{}, ErrCorrupt
	}
	h, err := readSIZ(cs)
	if err != nil {
		return Info{}, err
	}
	if err := h.check(s); err != nil {
		return Info{}, err
	}
	if len(dst) != s.FrameLen() {
		return Info{}, ErrMismatch
	}
	if err := openjpeg(dst, src, len(cs) != len(src), s); err != nil {
		return Info{}, err
	}
	// OpenJPEG reverses the component transform the codestream declares:
	// the samples are then RGB, whatever the DICOM header calls them.
	return Info{Lossy: h.lossy, RGB: h.mct && s.Samples == 3}, nil
}

// JPEGLS decodes one JPEG-LS frame into dst, which must be s.FrameLen()
// bytes long. The frame header is checked against s first.
func JPEGLS(dst, src []byte, s Spec) (Info, error) {
	h, err := readSOF(src)
	if err != nil {
		return Info{}, err
	}
	if h.marker != 0xF7 {
		return Info{}, ErrCorrupt
	}
	if err := h.check(s); err != nil {
		return Info{}, err
	}
	if len(dst) != s.FrameLen() {
		return Info{}, ErrMismatch
	}
	if !endsWithEOI(src) {
		// CharLS 2.4 spends seconds on a stream cut short (measured:
		// 8.6 s for a 30-byte frame found by FuzzJPEGLS).
		return Info{}, ErrCorrupt
	}
	width := 1
	if h.precision > 8 {
		width = 2
	}
	out := dst
	if width*8 != s.BitsAllocated {
		out = make([]byte, s.Rows*s.Cols*s.Samples)
	}
	near, err := charls(out, src, s, width)
	if err != nil {
		return Info{}, err
	}
	finish(dst, out, width, s.Signed)
	return Info{Lossy: near != 0}, nil
}

// finish turns the decoder's samples (out, width bytes each, host order)
// into dst's little-endian ones.
func finish(dst, out []byte, width int, signed bool) {
	if width == 2 {
		nativeToLittle16(out)
	} else if len(out) != len(dst) {
		widen(dst, out, signed)
	}
}

// endsWithEOI reports whether a JPEG-family stream ends with its EOI
// marker (a DICOM fragment may add one padding byte).
func endsWithEOI(b []byte) bool {
	if len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return len(b) >= 2 && b[len(b)-2] == 0xFF && b[len(b)-1] == 0xD9
}
