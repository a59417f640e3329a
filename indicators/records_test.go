package indicators_test

import (
	"bytes"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/configs"
	"hdw/indicators"
	"hdw/tables"
)

var typedCols = []string{"department", "modality", "birth_year", "sex_code", "visit_date", "weight_kg"}

// typedTable is a table written with the dictionary's types (the person
// first), read as record batches: an [indicators.RecordRows].
type typedTable struct{ data []byte }

func typed(t testing.TB, tb table) typedTable {
	t.Helper()
	s := tables.FromDictionary(configs.DefaultDictionary(), append([]string{"pseudonym"}, typedCols...))
	var buf bytes.Buffer
	w, err := tables.NewWriter(&buf, s, tables.WriterOptions{GroupRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]string, 1+len(typedCols))
	for _, r := range tb {
		vals[0] = r.person
		for i, c := range typedCols {
			vals[1+i] = r.cells[c]
		}
		if err := w.Append(vals); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return typedTable{buf.Bytes()}
}

func (tt typedTable) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	vals := make([]string, len(cols))
	_, err := tables.ScanBytes(ctx, tt.data, tables.Query{Columns: append([]string{"pseudonym"}, cols...)}, func(r *tables.Row) error {
		for i, c := range cols {
			vals[i] = r.Get(c)
		}
		return fn(r.Get("pseudonym"), vals)
	})
	return err
}

func (tt typedTable) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	_, err := tables.Records(ctx, bytes.NewReader(tt.data), tables.Query{Columns: append([]string{"pseudonym"}, cols...)}, fn)
	return err
}

// stringView hides Records: Compute reads the strings.
type stringView struct{ indicators.Rows }

// mixed is persons of several departments, months, modalities and
// weights, some with many visits, some with an empty pseudonym or weight.
func mixed() table {
	r := mrand.New(mrand.NewPCG(5, 6))
	var tb table
	for i := range 6000 {
		p := fmt.Sprintf("P%04d", r.IntN(900))
		if i%500 == 0 {
			p = "" // no person: not counted
		}
		w := fmt.Sprint(40 + r.IntN(90))
		if i%97 == 0 {
			w = "" // no value: not counted for value measures
		}
		tb = append(tb, row{person: p, cells: map[string]string{"department": []string{"75", "13", "2A", "971"}[r.IntN(4)],
			"modality": []string{"CT", "MR", "US"}[r.IntN(3)], "birth_year": fmt.Sprint(1930 + r.IntN(80)),
			"sex_code": []string{"F", "M"}[r.IntN(2)], "visit_date": fmt.Sprintf("2026-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28)), "weight_kg": w}})
	}
	return tb
}

// Issue 25: Compute over typed record batches (RecordRows) counts exactly
// what it counts over the string view of the same rows: the same rows,
// matches, persons, groups seen and rows dropped by the per-person bounds (the
// same sampling draws), for every measure, groupings and a filter.
func TestIssue25_RecordsCountLikeStrings(t *testing.T) {
	tt := typed(t, mixed())
	for _, d := range []indicators.Definition{
		{Name: "a", Measure: indicators.Count, GroupBy: []string{"department", "visit_date:month"}, MaxGroupsPerPerson: 3, MaxRowsPerGroup: 2},
		{Name: "b", Measure: indicators.Count, GroupBy: []string{"modality"}, Filter: "weight_kg > 80.5 && department == '75'"},
		{Name: "c", Measure: indicators.Mean, Column: "weight_kg", Lower: 0, Upper: 200, GroupBy: []string{"sex_code", "birth_year:band:10"}, MaxGroupsPerPerson: 2},
		{Name: "d", Measure: indicators.Histogram, Column: "weight_kg", Buckets: []float64{0, 60, 90, 200}, GroupBy: []string{"department"}},
		{Name: "e", Measure: indicators.Sum, Column: "weight_kg", Lower: 0, Upper: 200, GroupBy: []string{"visit_date:year", "modality", "sex_code", "department"}},
		{Name: "f", Measure: indicators.Quantiles, Column: "weight_kg", Lower: 0, Upper: 200, Ranks: []float64{0.5}},
	} {
		p := compile(t, d)
		_, a, err := indicators.Compute(context.Background(), p, tt, mrand.New(mrand.NewPCG(1, 2)))
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		_, b, err := indicators.Compute(context.Background(), p, stringView{tt}, mrand.New(mrand.NewPCG(1, 2)))
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		a.GroupsReleased, b.GroupsReleased = 0, 0 // noisy selection
		if a != b || a.Matched == 0 || a.GroupsSeen == 0 {
			t.Fatalf("%s: records %+v, strings %+v", d.Name, a, b)
		}
	}
}

// SEC-EXP-4 over typed record batches: a one-person group never appears.
func TestSEC_EXP_4_SinglePersonGroupNeverAppearsTyped(t *testing.T) {
	data := persons("p", "75", 60, 2, nil)
	data = append(data, persons("solo", "2A", 1, 2000, nil)...)
	tt := typed(t, data)
	p := compile(t, indicators.Definition{Name: "by-dep", Measure: indicators.Count, GroupBy: []string{"department"}, Epsilon: 2})
	for i := range 100 {
		res, _, err := indicators.Compute(context.Background(), p, tt, nil)
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

// personless is a typed table whose batches lack the person column.
type personless struct{ typedTable }

func (p personless) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	_, err := tables.Records(ctx, bytes.NewReader(p.data), tables.Query{Columns: cols}, fn)
	return err
}

// A record source whose batches lack the person column is refused, not
// counted with a data column as the person.
func TestIssue25_RecordsWithoutPersonRefused(t *testing.T) {
	p := compile(t, indicators.Definition{Name: "a", Measure: indicators.Count, GroupBy: []string{"department"}})
	if _, _, err := indicators.Compute(context.Background(), p, personless{typed(t, mixed())}, nil); err == nil {
		t.Fatal("batches without the person column were counted")
	}
}

// Issue 25: with the persons split in three shards (aggregated side by
// side), Compute still counts exactly what the string view counts, with
// the same sampling draws.
func TestIssue25_ShardedRecordsCountLikeStrings(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	TestIssue25_RecordsCountLikeStrings(t)
}
