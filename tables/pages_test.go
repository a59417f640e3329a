package tables

import (
	"encoding/binary"
	"testing"
)

// FuzzPageDecoders: the hybrid and PLAIN decoders of pages (walkPages)
// never panic nor read outside their input, whatever the bytes, and what
// they return has the length asked for.
func FuzzPageDecoders(f *testing.F) {
	f.Add([]byte{0x06, 0x01}, uint8(1), uint16(3))                       // an RLE run of three 1s
	f.Add([]byte{0x03, 0b10110010}, uint8(1), uint16(8))                 // one bit-packed group
	f.Add([]byte{0x02, 0x00, 0x00, 0x00, 'P', '1'}, uint8(7), uint16(1)) // a PLAIN value
	f.Fuzz(func(t *testing.T, data []byte, width uint8, n uint16) {
		out, err := hybrid(data, int(width), int(n), nil)
		if err == nil && len(out) != int(n) {
			t.Fatalf("hybrid: %d values, want %d", len(out), n)
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
