package tables

import (
	"io"
	"slices"
)

// PairForTest and SortPairsAgree expose the counter's sort to tests.
type PairForTest struct{ Class, V uint64 }

// SortPairsAgree sorts a copy with sortPairs and one with slices.SortFunc
// and reports whether they agree.
func SortPairsAgree(in []PairForTest) bool {
	a := make([]pair, len(in))
	for i, p := range in {
		a[i] = pair{p.Class, p.V}
	}
	b := slices.Clone(a)
	sortPairs(a)
	slices.SortFunc(b, cmpPair)
	return slices.Equal(a, b)
}

// NewWriterPlainPersons is NewWriter writing the person column in PLAIN
// pages, as the tables written before it was dictionary-encoded.
func NewWriterPlainPersons(w io.Writer, s *Schema, opt WriterOptions) (*Writer, error) {
	return newWriter(w, s, opt, false)
}
