package dcm

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"hdw/masking"
	"hdw/synth"
)

// TestPacked12RoundTrip: unpacking then packing gives the same bytes, the
// padding nibble of an odd count included, and the samples read as GDCM's
// Unpacker12Bits reads them.
func TestPacked12RoundTrip(t *testing.T) {
	got := unpack12([]byte{0x21, 0x43, 0x65}, 2)
	if want := []byte{0x21, 0x03, 0x54, 0x06}; !bytes.Equal(got, want) {
		t.Fatalf("unpack12 = % x, want % x", got, want)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for n := 1; n < 40; n++ {
		p := make([]byte, packed12Len(int64(n)))
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		q := bytes.Clone(p)
		pack12(q, unpack12(p, n))
		if !bytes.Equal(p, q) {
			t.Fatalf("n=%d: % x -> % x", n, p, q)
		}
	}
}

// TestSEC_PSE_4_Packed12Masked (issue 19 item 4): 12-bit packed native
// pixel data is masked (operator boxes on every frame) and written back
// packed: the boxes' samples are 0, every other sample is unchanged; a file
// that needs no pixel edit is copied as it is, in memory and streamed.
func TestSEC_PSE_4_Packed12Masked(t *testing.T) {
	for _, c := range []struct {
		modality   string
		rows, cols int
		frames     int
		boxes      []masking.Box
	}{
		{"US", 31, 33, 3, []masking.Box{{X0: 0, Y0: 0, X1: 17, Y1: 5}, {X0: 30, Y0: 29, X1: 40, Y1: 40}}},
		{"CT", 64, 64, 1, nil},
		{"CT", 256, 256, 2, nil}, // streamed when the head is small
	} {
		in := genFile(t, synth.DICOMSpec{Modality: c.modality, Rows: c.rows, Cols: c.cols, Frames: c.frames, BitsAllocated: 12, PlantText: true, Marker: "MARKER"})
		_, isc, err := preScan(in)
		if err != nil {
			t.Fatal(err)
		}
		n := c.rows * c.cols * c.frames
		if isc.pxLen < int(packed12Len(int64(n))) || isc.pxLen > int(packed12Len(int64(n)))+1 {
			t.Fatalf("synthetic pixel data of %d bytes for %d samples", isc.pxLen, n)
		}
		before := unpack12(in[isc.pxOff:], n)
		for _, head := range []int{1 << 10, 1 << 30} {
			o := streamOpts()
			o.Boxes = c.boxes
			var out []byte
			withHead(head, func() { out, _, err = deidentifyBytes(in, o) })
			if err != nil {
				t.Fatalf("%s %dx%dx%d: %v", c.modality, c.rows, c.cols, c.frames, err)
			}
			_, osc, err := preScan(out)
			if err != nil || osc.pxLen != isc.pxLen {
				t.Fatalf("output pixel data: %v, %d bytes (input %d)", err, osc.pxLen, isc.pxLen)
			}
			after := unpack12(out[osc.pxOff:], n)
			for i := 0; i < n; i++ {
				x, y := i%c.cols, i/c.cols%c.rows
				in := false
				for _, b := range c.boxes {
					in = in || x >= b.X0 && x < b.X1 && y >= b.Y0 && y < b.Y1
				}
				a := uint16(after[2*i]) | uint16(after[2*i+1])<<8
				b := uint16(before[2*i]) | uint16(before[2*i+1])<<8
				if in && a != 0 || !in && a != b {
					t.Fatalf("%s sample %d (x %d y %d, in a box %v): %d, input %d", c.modality, i, x, y, in, a, b)
				}
			}
		}
	}
}
