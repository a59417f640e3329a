package indicators_test

import (
	"bytes"
	"context"
	"hash/maphash"
	mrand "math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/indicators"
	"hdw/tables"
)

// hashedTable is a typed table whose reader hashes the persons as it
// decodes them (tables.RecordsHashed, several row groups at once): an
// indicators.HashedRecordRows.
type hashedTable struct{ typedTable }

func (h hashedTable) HashedRecords(ctx context.Context, cols []string, seed maphash.Seed, fn func(arrow.Record) error) error {
	q := tables.Query{Columns: append([]string{"pseudonym"}, cols...), Parallel: true, BatchRows: 300}
	_, err := tables.RecordsHashed(ctx, bytes.NewReader(h.data), q, "pseudonym", seed, fn)
	return err
}

var _ indicators.HashedRecordRows = hashedTable{}

// Issue 25: with the persons hashed where the pages are decoded (and the
// enums read as dictionaries), Compute counts exactly what it counts over
// the string view: rows, matches, persons, groups seen and rows dropped by
// the per-person bounds (the same sampling draws), in one shard and in
// three; filters on enums and numbers, and groupings by them.
func TestIssue25_HashedRecordsCountLikeStrings(t *testing.T) {
	ht := hashedTable{typed(t, mixed())}
	for _, procs := range []int{1, 3} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for _, d := range []indicators.Definition{
				{Name: "a", Measure: indicators.Count, GroupBy: []string{"modality", "department"}, MaxGroupsPerPerson: 2, MaxRowsPerGroup: 3},
				{Name: "b", Measure: indicators.Count, GroupBy: []string{"sex_code"}, Filter: "department in ['75', '2A'] && birth_year < 1970"},
				{Name: "c", Measure: indicators.Sum, Column: "weight_kg", Lower: 0, Upper: 150, GroupBy: []string{"department", "visit_date:year"}, MaxGroupsPerPerson: 3},
				{Name: "d", Measure: indicators.Histogram, Column: "birth_year", Buckets: []float64{1930, 1950, 1970, 2010}, GroupBy: []string{"modality"}, MaxRowsPerGroup: 1},
			} {
				p := compile(t, d)
				_, a, err := indicators.Compute(context.Background(), p, ht, mrand.New(mrand.NewPCG(3, 4)))
				if err != nil {
					t.Fatalf("%s: %v", d.Name, err)
				}
				_, b, err := indicators.Compute(context.Background(), p, stringView{ht}, mrand.New(mrand.NewPCG(3, 4)))
				if err != nil {
					t.Fatalf("%s: %v", d.Name, err)
				}
				a.GroupsReleased, b.GroupsReleased = 0, 0 // noisy selection
				if a != b || a.Matched == 0 || a.GroupsSeen == 0 {
					t.Fatalf("%s, %d shards: hashed %+v, strings %+v", d.Name, procs, a, b)
				}
			}
		}()
	}
}

// SEC-EXP-4 with the persons hashed in the reader: a one-person group never
// appears.
func TestSEC_EXP_4_SinglePersonGroupNeverAppearsHashed(t *testing.T) {
	data := persons("p", "75", 60, 2, nil)
	data = append(data, persons("solo", "2A", 1, 2000, nil)...)
	ht := hashedTable{typed(t, data)}
	p := compile(t, indicators.Definition{Name: "by-dep", Measure: indicators.Count, GroupBy: []string{"department"}, Epsilon: 2})
	for i := range 100 {
		res, _, err := indicators.Compute(context.Background(), p, ht, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k := range groupsOf(res) {
			if strings.HasPrefix(k, "2A") {
				t.Fatalf("run %d: group %s released", i, k)
			}
		}
	}
}
