package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/export"
	"hdw/keys"
	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/tables"
)

// typedCohort stores a cohort as a typed table (INT64 birth year,
// dictionary-encoded sex and diagnosis, DATE32 visit date) in a local
// store, split over two objects like the health store's batches.
func typedCohort(t *testing.T, n int) *tableSource {
	t.Helper()
	st := storetest.Local(t, t.TempDir())
	s, _ := tables.NewSchema(tables.Field{Name: "pseudonym"}, tables.Field{Name: "birth_year", Type: tables.Int},
		tables.Field{Name: "sex_code", Type: tables.Enum}, tables.Field{Name: "department"},
		tables.Field{Name: "visit_date", Type: tables.Date}, tables.Field{Name: "diagnosis", Type: tables.Enum})
	r := rand.New(rand.NewPCG(11, 12))
	src := &tableSource{St: st, Cols: s.Columns()}
	for part := range 2 {
		key := fmt.Sprintf("health/records/part%d.parquet", part)
		w, err := st.Create(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		tw, err := tables.NewWriter(w, s, tables.WriterOptions{GroupRows: 700})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n / 2 {
			p := part*n/2 + i
			year := strconv.Itoa(1930 + r.IntN(75))
			if p%50 == 0 {
				year = "" // a null birth year
			}
			// Persons of 1 to 3 rows, some with several diagnoses.
			tw.Append([]string{fmt.Sprintf("P%04d", p/2), year, []string{"M", "F"}[r.IntN(2)], fmt.Sprintf("%02d", 1+r.IntN(30)),
				fmt.Sprintf("202%d-%02d-%02d", r.IntN(3), 1+r.IntN(12), 1+r.IntN(28)), []string{"C50", "I21", "E11", "J45"}[r.IntN(4)]})
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		src.Objects = append(src.Objects, tableObject{Key: key})
	}
	return src
}

// stringsOnly hides a source's Records: the gate reads its string rows.
type stringsOnly struct{ export.RowSource }

// TestIssue17_GateTypedMatchesStrings: the gate counting on the typed
// record batches of a stored table (tables.Counter over Arrow arrays)
// reaches the same report, figure for figure, as over the string view of
// the same rows, with and without suppression, with t-closeness.
func TestIssue17_GateTypedMatchesStrings(t *testing.T) {
	src := typedCohort(t, 4000)
	for _, req := range []export.Request{
		{PersonColumn: "pseudonym", Sensitive: []string{"diagnosis"}, K: 5, L: 2, T: 0.5, MaxSuppression: 0.05, Reference: ref,
			Rules: []export.Rule{{Column: "birth_year", Kind: "age-band", Width: 20}, {Column: "visit_date", Kind: "date-year"}, {Column: "department", Kind: "postcode-region"}}},
		{PersonColumn: "pseudonym", Sensitive: []string{"diagnosis"}, K: 5, L: 2, Reference: ref,
			Rules: []export.Rule{{Column: "birth_year", Kind: "age-band", Width: 10}, {Column: "visit_date", Kind: "date-month"}}},
	} {
		typed := sameReport(t, src, req)
		t.Logf("pass %v rows %d persons %d classes %d smallest %d suppressed %d l %d t %.3f", typed.Pass, typed.Rows, typed.Persons,
			typed.Classes, typed.SmallestClass, typed.Suppressed, typed.DistinctL, typed.MaxT)
	}
}

// Issue 17: a table file written before a column joined the dictionary
// lacks it; the typed path reads it as null, the same classes as the
// string view's empty value.
func TestIssue17_GateTypedColumnAddedLater(t *testing.T) {
	ctx := context.Background()
	src := typedCohort(t, 600)
	old, _ := tables.NewSchema(tables.Field{Name: "pseudonym"}, tables.Field{Name: "birth_year", Type: tables.Int},
		tables.Field{Name: "sex_code", Type: tables.Enum}, tables.Field{Name: "visit_date", Type: tables.Date}, tables.Field{Name: "diagnosis", Type: tables.Enum})
	w, err := src.St.Create(ctx, "health/records/old.parquet")
	if err != nil {
		t.Fatal(err)
	}
	tw, _ := tables.NewWriter(w, old, tables.WriterOptions{})
	for i := range 300 {
		tw.Append([]string{fmt.Sprintf("Q%03d", i/3), strconv.Itoa(1950 + i%7), "F", "2021-05-0" + strconv.Itoa(1+i%3), "C50"})
	}
	if err := tw.Close(); err != nil || w.Close() != nil {
		t.Fatal(err)
	}
	src.Objects = append(src.Objects, tableObject{Key: "health/records/old.parquet"})
	req := export.Request{PersonColumn: "pseudonym", Sensitive: []string{"diagnosis"}, K: 5, L: 2, Reference: ref,
		Rules: []export.Rule{{Column: "birth_year", Kind: "age-band", Width: 20}, {Column: "visit_date", Kind: "date-year"}, {Column: "department", Kind: "postcode-region"}}}
	if rep := sameReport(t, src, req); rep.Rows != 900 {
		t.Fatalf("%d rows, want 900", rep.Rows)
	}
}

// sameReport runs the gate over src's typed batches and over its string
// view, fails unless the reports are the same, and returns it.
func sameReport(t *testing.T, src *tableSource, req export.Request) *export.Report {
	t.Helper()
	typed, err := gate().Check(context.Background(), src, req)
	if err != nil {
		t.Fatal(err)
	}
	str, err := gate().Check(context.Background(), stringsOnly{src}, req)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(typed)
	b, _ := json.Marshal(str)
	if string(a) != string(b) {
		t.Fatalf("typed and string counts differ:\n%s\n%s", a, b)
	}
	return typed
}

// tableObject is one stored table file and its data key.
type tableObject struct {
	Key string
	DEK keys.Secret
}

// tableSource is a table stored through the table layer, in one or more
// objects read in order (the health store's batches, a workspace table):
// an export.RecordSource, so the gate counts on its typed columns, streamed
// with [tables.RecordsObject].
type tableSource struct {
	St      objstore.Store
	Objects []tableObject
	Cols    []string
}

// Columns returns the table's columns.
func (t *tableSource) Columns() []string { return t.Cols }

// Rows streams the rows as strings.
func (t *tableSource) Rows(ctx context.Context, fn func(map[string]string) error) error {
	m := map[string]string{}
	for _, o := range t.Objects {
		if _, err := tables.ScanObject(ctx, t.St, o.Key, o.DEK, tables.Query{}, func(r *tables.Row) error { return fn(r.Map(m)) }); err != nil {
			return err
		}
	}
	return nil
}

// Records streams the record batches projected on cols.
func (t *tableSource) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	for _, o := range t.Objects {
		if _, err := tables.RecordsObject(ctx, t.St, o.Key, o.DEK, tables.Query{Columns: cols, Parallel: true}, fn); err != nil {
			return err
		}
	}
	return nil
}
