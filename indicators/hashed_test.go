package indicators_test

import (
	"bytes"
	"context"
	"hash/maphash"
	mrand "math/rand/v2"
	"runtime"
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
				if a, b := exactStats(t, d, ht), exactStats(t, d, stringView{ht}); a != b || a.Matched == 0 || a.GroupsSeen == 0 {
					t.Fatalf("%s, %d shards: hashed %+v, strings %+v", d.Name, procs, a, b)
				}
			}
		}()
	}
}

// exactStats computes d over rows with fixed sampling draws and returns
// its exact figures (but the groups released: the selection is noisy).
func exactStats(t *testing.T, d indicators.Definition, rows indicators.Rows) indicators.Stats {
	t.Helper()
	_, st, err := indicators.Compute(context.Background(), compile(t, d), rows, mrand.New(mrand.NewPCG(3, 4)))
	if err != nil {
		t.Fatalf("%s: %v", d.Name, err)
	}
	st.GroupsReleased = 0
	return st
}

// SEC-EXP-4 with the persons hashed in the reader: a one-person group never
// appears, though that person's 2,000 rows span row groups decoded by
// several readers at once (typed writes 1,000 rows a group).
func TestSEC_EXP_4_SinglePersonGroupNeverAppearsHashed(t *testing.T) {
	src := hashedTable{typed(t, append(persons("p", "13", 80, 3, nil), persons("solo", "971", 1, 2000, nil)...))}
	p := compile(t, indicators.Definition{Name: "by-dep", Measure: indicators.Count, GroupBy: []string{"department"}, Epsilon: 2})
	released, seen := 0, 0
	for range 100 {
		res, st, err := indicators.Compute(context.Background(), p, src, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen += int(st.GroupsSeen)
		if _, ok := groupsOf(res)["971#"]; ok {
			released++
		}
	}
	if released > 0 || seen != 200 {
		t.Fatalf("the one-person group released in %d of 100 runs (groups seen %d, want 2 a run)", released, seen)
	}
}
