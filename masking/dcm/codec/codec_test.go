package codec

import (
	"encoding/binary"
	"errors"
	"testing"
)

// sof builds a JPEG stream holding only SOI, an APP0 segment and a frame
// header (marker m) declaring rows x cols x comps of precision p.
func sof(m byte, p, rows, cols, comps int) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 'h', 'd', 0xFF, m}
	b = binary.BigEndian.AppendUint16(b, uint16(8+3*comps))
	b = append(b, byte(p))
	b = binary.BigEndian.AppendUint16(b, uint16(rows))
	b = binary.BigEndian.AppendUint16(b, uint16(cols))
	b = append(b, byte(comps))
	for c := 0; c < comps; c++ {
		b = append(b, byte(c+1), 0x11, 0)
	}
	return append(b, 0xFF, 0xD9)
}

// siz builds a J2K main header: SOC, SIZ and COD (wavelet w).
func siz(rows, cols, comps, tile int, w byte) []byte {
	b := []byte{0xFF, 0x4F, 0xFF, 0x51}
	b = binary.BigEndian.AppendUint16(b, uint16(38+3*comps))
	b = append(b, 0, 0)
	for _, v := range []int{cols, rows, 0, 0, tile, tile, 0, 0} {
		b = binary.BigEndian.AppendUint32(b, uint32(v))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(comps))
	for c := 0; c < comps; c++ {
		b = append(b, 7, 1, 1)
	}
	b = append(b, 0xFF, 0x52, 0, 12, 0, 0, 0, 1, 0, 5, 4, 4, 0, w)
	return append(b, 0xFF, 0x90)
}

// TestIssue20_HeaderChecked: a codestream whose frame header differs from
// the DICOM header (a larger image: a decompression bomb; another sample
// count or precision) is refused before any decoder runs; a matching one
// is read, lossy or not.
func TestIssue20_HeaderChecked(t *testing.T) {
	s := Spec{Rows: 64, Cols: 48, Samples: 1, BitsAllocated: 8}
	for _, c := range []struct {
		name string
		src  []byte
		want error
	}{
		{"bomb", sof(0xC3, 8, 60000, 60000, 1), ErrMismatch},
		{"samples", sof(0xC3, 8, 64, 48, 3), ErrMismatch},
		{"precision", sof(0xC1, 12, 64, 48, 1), ErrMismatch},
		{"zero-rows", sof(0xC3, 8, 0, 48, 1), ErrMismatch},
		{"no-frame-header", []byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2}, ErrCorrupt},
		{"truncated", sof(0xC3, 8, 64, 48, 1)[:12], ErrCorrupt},
	} {
		if _, err := JPEG(make([]byte, s.FrameLen()), c.src, s); !errors.Is(err, c.want) {
			t.Errorf("jpeg %s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := JPEGLS(make([]byte, s.FrameLen()), sof(0xF7, 8, 65535, 65535, 1), s); !errors.Is(err, ErrMismatch) {
		t.Errorf("jpeg-ls bomb: %v", err)
	}
	if _, err := JPEG2000(make([]byte, s.FrameLen()), siz(1<<20, 1<<20, 1, 1<<20, 1), s); !errors.Is(err, ErrMismatch) {
		t.Errorf("j2k bomb: %v", err)
	}
	if _, err := JPEG2000(make([]byte, s.FrameLen()), siz(64, 48, 1, 1, 1), s); !errors.Is(err, ErrMismatch) {
		t.Errorf("j2k tiles of one pixel: %v", err)
	}
	for _, c := range []struct {
		h     []byte
		j2k   bool
		lossy bool
	}{{sof(0xC3, 8, 64, 48, 1), false, false}, {sof(0xC1, 8, 64, 48, 1), false, true},
		{siz(64, 48, 1, 64, 1), true, false}, {siz(64, 48, 1, 64, 0), true, true}} {
		read := readSOF
		if c.j2k {
			read = readSIZ
		}
		h, err := read(c.h)
		if err != nil || h.check(s) != nil || h.lossy != c.lossy {
			t.Errorf("header %x: %+v %v", c.h[:4], h, err)
		}
	}
}

// fuzzDecoder checks that a decoder never crashes on a malformed stream
// and, when it succeeds, filled exactly the frame (seeds: 16x24 frames
// written by gdcm and dcmtk, in testdata/fuzz).
func fuzzDecoder(f *testing.F, decode func(dst, src []byte, s Spec) (Info, error)) {
	f.Fuzz(func(t *testing.T, b []byte, rows, cols uint8, color, wide bool) {
		s := Spec{Rows: int(rows) + 1, Cols: int(cols) + 1, Samples: 1, BitsAllocated: 8}
		if color {
			s.Samples = 3
		}
		if wide {
			s.BitsAllocated = 16
		}
		dst := make([]byte, s.FrameLen())
		if _, err := decode(dst, b, s); err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrMismatch) && !errors.Is(err, ErrNotBuilt) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func FuzzJPEG(f *testing.F)     { fuzzDecoder(f, JPEG) }
func FuzzJPEG2000(f *testing.F) { fuzzDecoder(f, JPEG2000) }
func FuzzJPEGLS(f *testing.F)   { fuzzDecoder(f, JPEGLS) }
