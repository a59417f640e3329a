package envelope_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"hdw/envelope"
	"hdw/keys"
)

func seal(t testing.TB, dek keys.Secret, aad string, pt []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := envelope.NewWriter(&buf, dek, aad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(dek keys.Secret, aad string, ct []byte) ([]byte, error) {
	r, err := envelope.NewReader(bytes.NewReader(ct), dek, aad)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// TestSRS_091_RoundTrip checks AES-256-GCM at rest for sizes around chunk boundaries.
func TestSRS_091_RoundTrip(t *testing.T) {
	dek := keys.RandomSecret()
	for _, n := range []int{0, 1, 65535, 65536, 65537, 3*65536 + 7, 1 << 20} {
		pt := make([]byte, n)
		rand.Read(pt)
		ct := seal(t, dek, "health/x", pt)
		if int64(len(ct)) != envelope.Overhead(int64(n)) {
			t.Errorf("n=%d: size %d, Overhead %d", n, len(ct), envelope.Overhead(int64(n)))
		}
		got, err := open(dek, "health/x", ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("n=%d: round trip failed: %v", n, err)
		}
		if n > 16 && bytes.Contains(ct, pt[:16]) {
			t.Fatal("plaintext visible")
		}
	}
}

func TestTamper(t *testing.T) {
	dek := keys.RandomSecret()
	pt := make([]byte, 3*65536+10)
	ct := seal(t, dek, "a", pt)
	cases := map[string][]byte{
		"truncated at chunk": ct[:envelope.HeaderSize+65536+16],
		"truncated mid":      ct[:len(ct)-5],
		"flipped":            func() []byte { c := bytes.Clone(ct); c[100] ^= 1; return c }(),
		"appended":           append(bytes.Clone(ct), ct[envelope.HeaderSize:envelope.HeaderSize+100]...),
	}
	for name, c := range cases {
		if _, err := open(dek, "a", c); !errors.Is(err, envelope.ErrAuth) {
			t.Errorf("%s: got %v, want ErrAuth", name, err)
		}
	}
	if _, err := open(dek, "b", ct); !errors.Is(err, envelope.ErrAuth) {
		t.Error("other object name must fail")
	}
	if _, err := open(keys.RandomSecret(), "a", ct); !errors.Is(err, envelope.ErrAuth) {
		t.Error("other key must fail")
	}
	if _, err := open(dek, "a", []byte("plain text file")); !errors.Is(err, envelope.ErrFormat) {
		t.Error("not an envelope must fail with ErrFormat")
	}
}

func FuzzReader(f *testing.F) {
	dek := keys.NewSecret(make([]byte, 32))
	var buf bytes.Buffer
	w, _ := envelope.NewWriter(&buf, dek, "x")
	w.Write([]byte("hello"))
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("HDWENC1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := open(dek, "x", data)
		if err != nil && !errors.Is(err, envelope.ErrAuth) && !errors.Is(err, envelope.ErrFormat) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

func BenchmarkEncrypt(b *testing.B) {
	dek := keys.RandomSecret()
	data := make([]byte, 8<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		w, _ := envelope.NewWriter(io.Discard, dek, "x")
		w.Write(data)
		w.Close()
	}
}

// BenchmarkRawGCM is the limit store encryption is measured against (issue
// 9): AES-256-GCM sealing of the same 64 KiB chunks with no framing.
func BenchmarkRawGCM(b *testing.B) {
	key := make([]byte, 32)
	block, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(block)
	data := make([]byte, 8<<20)
	out := make([]byte, 0, 64<<10+16)
	nonce := make([]byte, 12)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(data); off += 64 << 10 {
			out = g.Seal(out[:0], nonce, data[off:off+64<<10], nil)
		}
	}
}
