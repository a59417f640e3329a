package dcm

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// rleEncode writes a frame as RLE Lossless with literal runs only.
func rleEncode(planes [][]byte) []byte {
	h := make([]byte, 64)
	binary.LittleEndian.PutUint32(h, uint32(len(planes)))
	var body []byte
	for i, p := range planes {
		binary.LittleEndian.PutUint32(h[4+4*i:], uint32(64+len(body)))
		for j := 0; j < len(p); j += 128 {
			n := min(128, len(p)-j)
			body = append(body, byte(n-1))
			body = append(body, p[j:j+n]...)
		}
		body = append(body, 0xFE, 0x07) // a replicate run beyond the limit: ignored
	}
	return append(h, body...)
}

func TestDecodeRLE(t *testing.T) {
	const rows, cols = 3, 50
	hi := bytes.Repeat([]byte{0x01}, rows*cols)
	lo := make([]byte, rows*cols)
	for i := range lo {
		lo[i] = byte(i)
	}
	out, err := decodeRLE(rleEncode([][]byte{hi, lo}), rows, cols, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rows*cols; i++ {
		if out[2*i] != byte(i) || out[2*i+1] != 1 {
			t.Fatalf("pixel %d: %x %x", i, out[2*i], out[2*i+1])
		}
	}
	if _, err := decodeRLE(rleEncode([][]byte{hi}), rows, cols, 1, 2); err == nil {
		t.Error("segment count mismatch accepted")
	}
	if _, err := decodeRLE(rleEncode([][]byte{hi[:10], lo}), rows, cols, 1, 2); err == nil {
		t.Error("short segment accepted")
	}
}

func FuzzDecodeRLE(f *testing.F) {
	f.Add(rleEncode([][]byte{bytes.Repeat([]byte{7}, 64)}), 8, 8, 1, 1)
	f.Add(rleEncode([][]byte{make([]byte, 16), make([]byte, 16), make([]byte, 16)}), 4, 4, 3, 1)
	f.Fuzz(func(t *testing.T, b []byte, rows, cols, samples, bps int) {
		if rows <= 0 || cols <= 0 || rows*cols > 1<<16 || samples < 1 || samples > 3 || bps < 1 || bps > 4 {
			return
		}
		out, err := decodeRLE(b, rows, cols, samples, bps)
		if err == nil && len(out) != rows*cols*samples*bps {
			t.Fatalf("decoded %d bytes", len(out))
		}
	})
}
