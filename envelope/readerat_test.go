package envelope_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"hdw/envelope"
	"hdw/keys"
)

// chunk is the envelope's plaintext chunk size.
const chunk, tagSize = 64 << 10, 16

// Issue 17: the random-access reader gives the plaintext at any offset
// (chunk edges, the last chunk, empty and exact-multiple sizes), and fails
// authentication on a truncated, altered or renamed file.
func TestReaderAtRandomAccess(t *testing.T) {
	dek := keys.NewSecret(bytes.Repeat([]byte{7}, 32))
	for _, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 3*chunk + 77, 4 * chunk} {
		pt := make([]byte, size)
		for i := range pt {
			pt[i] = byte(i*31 + i/chunk)
		}
		var ct bytes.Buffer
		w, _ := envelope.NewWriter(&ct, dek, "obj")
		w.Write(pt)
		w.Close()
		ra, err := envelope.NewReaderAt(bytes.NewReader(ct.Bytes()), int64(ct.Len()), dek, "obj")
		if err != nil || ra.Size() != int64(size) {
			t.Fatalf("size %d: %v %d", size, err, ra.Size())
		}
		for _, span := range [][2]int{{0, size}, {size / 2, size}, {max(0, chunk-3), min(size, chunk+5)}, {max(0, size-10), size}} {
			span[0] = min(span[0], span[1])
			got := make([]byte, span[1]-span[0])
			n, err := ra.ReadAt(got, int64(span[0]))
			if n != len(got) || (err != nil && err != io.EOF) || !bytes.Equal(got, pt[span[0]:span[1]]) {
				t.Fatalf("size %d span %v: n %d err %v", size, span, n, err)
			}
		}
		if size > chunk {
			got := make([]byte, 10)
			if n, err := ra.ReadAt(got, int64(size-5)); n != 5 || err != io.EOF {
				t.Fatalf("read past the end: %d %v", n, err)
			}
			// Truncated at a chunk boundary: the new last chunk was not sealed as last.
			cut := ct.Bytes()[:envelope.HeaderSize+chunk+tagSize]
			if ra, err := envelope.NewReaderAt(bytes.NewReader(cut), int64(len(cut)), dek, "obj"); err == nil {
				if _, err := ra.ReadAt(make([]byte, 1), 0); !errors.Is(err, envelope.ErrAuth) {
					t.Fatalf("truncated file read: %v", err)
				}
			}
			bad := bytes.Clone(ct.Bytes())
			bad[envelope.HeaderSize+chunk+tagSize+3] ^= 1
			ra, _ := envelope.NewReaderAt(bytes.NewReader(bad), int64(len(bad)), dek, "obj")
			if _, err := ra.ReadAt(make([]byte, 1), chunk); !errors.Is(err, envelope.ErrAuth) {
				t.Fatalf("altered chunk: %v", err)
			}
			ra, _ = envelope.NewReaderAt(bytes.NewReader(ct.Bytes()), int64(ct.Len()), dek, "other")
			if _, err := ra.ReadAt(make([]byte, 4), 0); !errors.Is(err, envelope.ErrAuth) {
				t.Fatalf("renamed object: %v", err)
			}
		}
	}
}

func FuzzReaderAt(f *testing.F) {
	dek := keys.NewSecret(bytes.Repeat([]byte{7}, 32))
	var ct bytes.Buffer
	w, _ := envelope.NewWriter(&ct, dek, "obj")
	w.Write(bytes.Repeat([]byte("x"), chunk+9))
	w.Close()
	f.Add(ct.Bytes(), int64(0), 16)
	f.Fuzz(func(t *testing.T, data []byte, off int64, n int) {
		ra, err := envelope.NewReaderAt(bytes.NewReader(data), int64(len(data)), dek, "obj")
		if err != nil {
			return
		}
		ra.ReadAt(make([]byte, min(max(n, 0), 1<<20)), off)
	})
}
