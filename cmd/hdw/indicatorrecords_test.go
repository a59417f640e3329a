package main

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"hdw/configs"
	"hdw/indicators"
	"hdw/tables"
)

// memTable is an indicatorTable over a table written in memory.
type memTable struct{ data []byte }

func (m memTable) src() tables.Source { return bytes.NewReader(m.data) }

func (m memTable) Columns() []string { return nil }

func (m memTable) Rows(context.Context, func(map[string]string) error) error { return nil }

func (m memTable) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	vals := make([]string, len(cols))
	_, err := tables.Scan(ctx, m.src(), tables.Query{Columns: append([]string{"pseudonym"}, cols...)}, func(r *tables.Row) error {
		for i, c := range cols {
			vals[i] = r.Get(c)
		}
		return fn(r.Get("pseudonym"), vals)
	})
	return err
}

func (m memTable) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	_, err := tables.Records(ctx, m.src(), tables.Query{Columns: cols, Parallel: true, BatchRows: 100}, fn)
	return err
}

func (m memTable) HashedRecords(ctx context.Context, cols []string, seed maphash.Seed, fn func(arrow.Record) error) error {
	q := tables.Query{Columns: append([]string{"pseudonym"}, cols...), Parallel: true, BatchRows: 100}
	_, err := tables.RecordsHashed(ctx, m.src(), q, "pseudonym", seed, fn)
	return err
}

// stringOnly and recordsOnly hide the faster readers, so that Compute
// takes the string view, or the typed batches with string pseudonyms.
type stringOnly struct{ indicatorRows }

func (stringOnly) Records() {}

type recordsOnly struct{ r indicatorRows }

func (o recordsOnly) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	return o.r.Scan(ctx, cols, fn)
}

func (o recordsOnly) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	return o.r.Records(ctx, cols, fn)
}

// GDPR art. 18 (SEC-EXP-4 indicators, issue 25): a person whose processing
// is restricted counts in no indicator, whichever way the rows are read
// (string view, typed batches, persons hashed where decoded): the run
// counts one person fewer and none of their rows.
func TestSEC_EXP_4_IndicatorLeavesRestrictedPersonsOut(t *testing.T) {
	d := configs.DefaultDictionary()
	s := tables.FromDictionary(d, []string{"pseudonym", "department", "modality"})
	var buf bytes.Buffer
	w, err := tables.NewWriter(&buf, s, tables.WriterOptions{GroupRows: 250})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		p := fmt.Sprintf("P%03d", i%200)
		if err := w.Append([]string{p, []string{"75", "13"}[i%2], []string{"CT", "MR"}[i%3%2]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	plan, err := indicators.Compile(indicators.Definition{Name: "t", Measure: indicators.Count,
		GroupBy: []string{"department"}, MaxGroupsPerPerson: 5, MaxRowsPerGroup: 5}, d)
	if err != nil {
		t.Fatal(err)
	}
	tbl := memTable{buf.Bytes()}
	for _, skip := range []map[string]bool{nil, {"P007": true, "P150": true}} {
		for name, rows := range map[string]indicators.Rows{
			"strings": stringOnly{indicatorRows{t: tbl, skip: skip}},
			"records": recordsOnly{indicatorRows{t: tbl, skip: skip}},
			"hashed":  indicatorRows{t: tbl, skip: skip},
		} {
			_, st, err := indicators.Compute(context.Background(), plan, rows, nil)
			if err != nil {
				t.Fatal(name, err)
			}
			if want := int64(200 - len(skip)); st.Persons != want {
				t.Errorf("%s, %d restricted: %d persons counted, want %d", name, len(skip), st.Persons, want)
			}
			if want := int64(1000 - 5*len(skip)); st.Matched != want {
				t.Errorf("%s, %d restricted: %d rows matched, want %d", name, len(skip), st.Matched, want)
			}
		}
	}
}

// Fail closed: a person column of a type the filter cannot read is an
// error, never rows passed through with restricted persons in them.
func TestSEC_EXP_4_RestrictedFilterRefusesUnknownPersonColumn(t *testing.T) {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues([]int64{1, 2}, nil)
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "pseudonym", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{col}, 2)
	defer rec.Release()
	called := false
	err := blankPersons(rec, func(arrow.Array, int) bool { return true }, func(arrow.Record) error { called = true; return nil })
	if err == nil || called {
		t.Fatalf("an int64 person column: err %v, passed on %v", err, called)
	}
}
