package dcm_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"hdw/masking/dcm"
)

// TestIssue19_RecycledArenaSameOutput: a handler that recycles its
// decoder's blocks from file to file writes, for every file of the codec
// corpus and in any order, the bytes (or the error) of a new handler.
func TestIssue19_RecycledArenaSameOutput(t *testing.T) {
	files := codecCorpus(t)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	type out struct {
		b   []byte
		err string
	}
	deid := func(h *dcm.Handler, in []byte) out {
		var b bytes.Buffer
		_, err := h.Deidentify(context.Background(), &b, bytes.NewReader(in), int64(len(in)), person(), opts())
		if err != nil {
			return out{err: err.Error()}
		}
		return out{b: b.Bytes()}
	}
	want := map[string]out{}
	for _, n := range names {
		want[n] = deid(dcm.New(dcm.Config{}), files[n])
	}
	shared := dcm.New(dcm.Config{})
	for pass := 0; pass < 2; pass++ {
		for _, n := range names {
			got := deid(shared, files[n])
			if got.err != want[n].err || !bytes.Equal(got.b, want[n].b) {
				t.Errorf("pass %d, %s: output of a recycled arena differs from a new handler's", pass, n)
			}
		}
		slices.Reverse(names)
	}
}
