package tables

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
)

// FuzzPageDecoders: the hybrid and PLAIN decoders of pages (walkPages)
// never panic nor read outside their input, whatever the bytes, and what
// they return has the length asked for.
func FuzzPageDecoders(f *testing.F) {
	f.Add([]byte{0x06, 0x01}, uint8(1), uint16(3))                              // an RLE run of three 1s
	f.Add([]byte{0x03, 0b10110010}, uint8(1), uint16(8))                        // one bit-packed group
	f.Add([]byte{0x02, 0x00, 0x00, 0x00, 'P', '1'}, uint8(7), uint16(1))        // a PLAIN value
	f.Add(append([]byte{0x07}, make([]byte, 3*13+2)...), uint8(13), uint16(24)) // bit-packed groups of 13-bit indices
	f.Add([]byte{0x05, 0xff, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}, uint8(7), uint16(16))
	f.Fuzz(func(t *testing.T, data []byte, width uint8, n uint16) {
		out, err := hybrid(data, int(width), int(n), nil)
		if err == nil && len(out) != int(n) {
			t.Fatalf("hybrid: %d values, want %d", len(out), n)
		}
		if ref, rerr := hybridBits(data, int(width), int(n)); (err == nil) != (rerr == nil) || (err == nil && !slices.Equal(out, ref)) {
			t.Fatalf("hybrid: %v (%v), bit by bit: %v (%v)", out, err, ref, rerr)
		}
		for _, v := range out {
			if v < 0 {
				t.Fatalf("hybrid: value %d", v)
			}
		}
		starts, err := plainValues(data, int(n), nil)
		if err == nil {
			if len(starts) != int(n) {
				t.Fatalf("plain: %d values, want %d", len(starts), n)
			}
			p := pageValues{data: data, plain: starts}
			for i := range starts {
				if s := starts[i]; s < 4 || int(s)+int(binary.LittleEndian.Uint32(data[s-4:])) > len(data) {
					t.Fatalf("plain: value %d out of the page", i)
				}
				_ = p.value(i)
			}
		}
	})
}

// The hybrid decoder reads runs and bit-packed groups as the format says.
func TestHybridDecodes(t *testing.T) {
	// An RLE run of four 5s (width 3), then one group of 8 values 0..7
	// bit-packed at width 3 (24 bits), of which 6 are asked for.
	data := []byte{4 << 1, 5, 1<<1 | 1, 0b10001000, 0b11000110, 0b11111010}
	out, err := hybrid(data, 3, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{5, 5, 5, 5, 0, 1, 2, 3, 4, 5}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("got %v, want %v", out, want)
		}
	}
	if _, err := hybrid(data[:4], 3, 10, nil); err == nil {
		t.Error("a bit-packed run cut short decoded")
	}
}

// hybridBits is the hybrid decoding read one bit at a time, as the format
// describes it (the fuzz test's reference).
func hybridBits(data []byte, width, n int) ([]int32, error) {
	if width < 0 || width > 32 {
		return nil, errors.New("width")
	}
	out := []int32{}
	for len(out) < n {
		h, k := binary.Uvarint(data)
		if k <= 0 {
			return nil, errors.New("header")
		}
		data = data[k:]
		if h&1 == 0 {
			vb := (width + 7) / 8
			if len(data) < vb || h>>1 > uint64(n-len(out)) {
				return nil, errors.New("run")
			}
			v := uint64(0)
			for j := vb - 1; j >= 0; j-- {
				v = v<<8 | uint64(data[j])
			}
			if v > math.MaxInt32 {
				return nil, errors.New("value")
			}
			for range h >> 1 {
				out = append(out, int32(v))
			}
			data = data[vb:]
			continue
		}
		groups := h >> 1
		if groups > uint64(len(data)) || groups*uint64(width) > uint64(len(data)) {
			return nil, errors.New("packed")
		}
		bits := data[:int(groups)*width]
		data = data[int(groups)*width:]
		for i := 0; i < int(groups)*8 && len(out) < n; i++ {
			v := uint64(0)
			for b := width - 1; b >= 0; b-- {
				at := i*width + b
				v = v<<1 | uint64(bits[at/8]>>(at%8)&1)
			}
			if v > math.MaxInt32 {
				return nil, errors.New("value")
			}
			out = append(out, int32(v))
		}
	}
	return out, nil
}
