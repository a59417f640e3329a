package rights

import (
	"bytes"
	"strings"
	"testing"
)

// TestReplaceWriter replaces a pseudonym across arbitrary write boundaries.
func TestReplaceWriter(t *testing.T) {
	old, nw := strings.Repeat("a", 32), strings.Repeat("b", 32)
	in := "head " + old + " mid " + old + old + " tail " + old[:10]
	for chunk := 1; chunk <= len(in); chunk += 7 {
		var out bytes.Buffer
		w := newReplaceWriter(&out, []byte(old), []byte(nw))
		for i := 0; i < len(in); i += chunk {
			j := min(i+chunk, len(in))
			if n, err := w.Write([]byte(in[i:j])); err != nil || n != j-i {
				t.Fatal(err, n)
			}
		}
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(in, old, nw)
		if out.String() != want {
			t.Fatalf("chunk %d: got %q", chunk, out.String())
		}
	}
}

func TestLedgerTagStable(t *testing.T) {
	a := ledgerTag([]string{"b", "a"})
	if a != ledgerTag([]string{"a", "b"}) || a == ledgerTag([]string{"c"}) || len(a) != 16 {
		t.Fatal(a)
	}
}

func BenchmarkReplaceWriter(b *testing.B) {
	old, nw := []byte(strings.Repeat("a", 32)), []byte(strings.Repeat("b", 32))
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	copy(data[1000:], old)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w := newReplaceWriter(discard{}, old, nw)
		for j := 0; j < len(data); j += 32 << 10 {
			w.Write(data[j:min(j+32<<10, len(data))])
		}
		w.flush()
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
