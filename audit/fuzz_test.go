package audit_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"hdw/audit"
)

// FuzzParsePart: the segment parser never panics, every error is a
// *FormatError wrapping ErrFormat, and a segment that parses re-encodes
// to the same bytes (the format is canonical).
func FuzzParsePart(f *testing.F) {
	st, dir := newStore(f)
	id := session(f, st, nil, 100, 3)
	for _, p := range []int{0, 1} {
		b, err := os.ReadFile(filepath.Join(dir, "audit", "segments", id, []string{"000000", "000001"}[p]+".jsonl"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(""))
	f.Add([]byte("\n"))
	f.Add([]byte("{\"segment\":\"x\",\"part\":0,\"version\":2,\"head\":0,\"prev\":\"\",\"written\":\"\"}\n{\"prev\":\"\",\"mac\":\"00\"}\n"))
	f.Add([]byte("{\"seq\":1}\n{\"mac\":\"00\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := audit.ParsePart(data)
		if p == nil {
			t.Fatal("nil part")
		}
		if err != nil {
			var fe *audit.FormatError
			if !errors.As(err, &fe) || !errors.Is(err, audit.ErrFormat) || fe.Line < 1 {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		if got := p.Marshal(); string(got) != string(data) {
			t.Fatalf("not canonical:\n%q\n%q", data, got)
		}
		// Verification of arbitrary bytes never panics either.
		_, _ = testMAC.Sum(context.Background(), p.Body)
	})
}
