package pseudo

import (
	"bytes"
	"encoding/base32"
	"testing"
)

// enc is the reference encoding of pseudonyms (encode20 must agree).
var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func checkEncode20(t *testing.T, in []byte) {
	t.Helper()
	var got, want [Len]byte
	encode20(&got, in)
	enc.Encode(want[:], in[:20])
	if got != want {
		t.Fatalf("encode20(%x) = %s, want %s (encoding/base32)", in[:20], got[:], want[:])
	}
}

// TestEncode20: the pseudonym's base32 is encoding/base32's, byte for byte.
func TestEncode20(t *testing.T) {
	for _, in := range [][]byte{make([]byte, 20), bytes.Repeat([]byte{0xff}, 20), []byte("0123456789abcdefghij"),
		{0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 0x7f}} {
		checkEncode20(t, in)
	}
}

func FuzzEncode20(f *testing.F) {
	f.Add([]byte("0123456789abcdefghij"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 20 {
			return
		}
		checkEncode20(t, in)
	})
}
