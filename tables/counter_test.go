package tables_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/tables"
)

// counterTable writes n rows: person, a year, an enum, a department and a
// sensitive code.
func counterTable(t testing.TB, n int) []byte {
	t.Helper()
	s, _ := tables.NewSchema(tables.Field{Name: "pseudonym"}, tables.Field{Name: "birth_year", Type: tables.Int},
		tables.Field{Name: "sex_code", Type: tables.Enum}, tables.Field{Name: "department"}, tables.Field{Name: "diagnosis", Type: tables.Enum},
		tables.Field{Name: "visit_date", Type: tables.Date})
	var buf bytes.Buffer
	w, err := tables.NewWriter(&buf, s, tables.WriterOptions{GroupRows: 5000})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for i := range n {
		year := strconv.Itoa(1930 + r.IntN(80))
		if i%97 == 0 {
			year = "" // nulls are a class value of their own
		}
		w.Append([]string{strconv.Itoa(i / 3), year, []string{"M", "F"}[r.IntN(2)], fmt.Sprintf("%02d", 1+r.IntN(95)),
			[]string{"C50", "I10", "E11"}[r.IntN(3)], fmt.Sprintf("20%02d-0%d-15", 15+r.IntN(10), 1+r.IntN(9))})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Issue 17: the out-of-core counter gives the same classes, distinct
// persons and distinct sensitive values as a plain map count, in memory
// and when spilling many runs.
func TestIssue17_CounterMatchesNaive(t *testing.T) {
	ctx := context.Background()
	data := counterTable(t, 60000)
	band := func(v int64) int64 { return (2026 - v) / 20 }
	month := func(d int64) int64 { return d / 30 }
	// The naive count over the string view.
	type agg struct{ persons, diags map[string]bool }
	naive := map[string]*agg{}
	tables.ScanBytes(ctx, data, tables.Query{}, func(r *tables.Row) error {
		y := "null"
		if v, ok := r.Int("birth_year"); ok {
			y = strconv.FormatInt(band(v), 10)
		}
		d, _ := r.Date("visit_date")
		key := y + "|" + r.Get("sex_code") + "|" + r.Get("department")[:1] + "|" + strconv.FormatInt(month(int64(d)), 10)
		a := naive[key]
		if a == nil {
			a = &agg{map[string]bool{}, map[string]bool{}}
			naive[key] = a
		}
		a.persons[r.Get("pseudonym")] = true
		a.diags[r.Get("diagnosis")] = true
		return nil
	})
	var wantSmallest, wantBelow, wantPersons, wantDiags int64
	for _, a := range naive {
		p := int64(len(a.persons))
		if wantSmallest == 0 || p < wantSmallest {
			wantSmallest = p
		}
		if p < 5 {
			wantBelow++
		}
		wantPersons += p
		wantDiags += int64(len(a.diags))
	}
	for _, budget := range []int64{1 << 30, 64 << 10} { // in memory; about 40 spilled runs
		c, err := tables.NewCounter(tables.CounterOptions{Keys: []tables.KeySpec{{Column: "birth_year", Int: band}, {Column: "sex_code"},
			{Column: "department", Prefix: 1}, {Column: "visit_date", Int: month}}, Person: "pseudonym", Sensitive: []string{"diagnosis"},
			Budget: budget, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tables.Records(ctx, bytes.NewReader(data), tables.Query{}, func(rec arrow.Record) error { return c.Add(rec) }); err != nil {
			t.Fatal(err)
		}
		var persons, diags int64
		sum, err := c.Result(5, func(cl tables.Class) error {
			persons += cl.Persons
			diags += cl.Distinct[0]
			return nil
		})
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sum.Classes != int64(len(naive)) || sum.Smallest != wantSmallest || sum.BelowK != wantBelow || persons != wantPersons || diags != wantDiags || sum.Rows != 60000 {
			t.Fatalf("budget %d: %+v persons %d diags %d; want classes %d smallest %d below %d persons %d diags %d",
				budget, sum, persons, diags, len(naive), wantSmallest, wantBelow, wantPersons, wantDiags)
		}
		if spilled := sum.Spilled > 0; spilled != (budget < 1<<20) {
			t.Errorf("budget %d: %d bytes spilled", budget, sum.Spilled)
		}
	}
}

// The radix sort of the counter agrees with a comparison sort.
func TestIssue17_CounterSortPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 1000, 200000} {
		a := make([]tables.PairForTest, n)
		for i := range a {
			a[i] = tables.PairForTest{Class: r.Uint64() >> uint(r.IntN(3)*8), V: r.Uint64N(4)}
		}
		if !tables.SortPairsAgree(a) {
			t.Fatalf("n=%d: not sorted like slices.SortFunc", n)
		}
	}
}

// Issue 17: with Detail the counter gives each class's rows, the table's
// distinct persons, and the sensitive values weighted by person (a person
// with two values in a class weighs 1/2 on each), in memory and spilled.
func TestIssue17_CounterDetail(t *testing.T) {
	ctx := context.Background()
	s, _ := tables.NewSchema(tables.Field{Name: "pseudonym"}, tables.Field{Name: "sex_code", Type: tables.Enum}, tables.Field{Name: "diagnosis", Type: tables.Enum})
	var buf bytes.Buffer
	w, _ := tables.NewWriter(&buf, s, tables.WriterOptions{GroupRows: 100})
	// Class M: P1 (C50, I10, C50 again), P2 (C50); class F: 3000 persons, one E11 each.
	for _, r := range [][]string{{"P1", "M", "C50"}, {"P1", "M", "I10"}, {"P1", "M", "C50"}, {"P2", "M", "C50"}} {
		w.Append(r)
	}
	for i := range 3000 {
		w.Append([]string{"Q" + strconv.Itoa(i), "F", "E11"})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, budget := range []int64{1 << 30, 16 << 10} {
		c, err := tables.NewCounter(tables.CounterOptions{Keys: []tables.KeySpec{{Column: "sex_code"}}, Person: "pseudonym",
			Sensitive: []string{"diagnosis"}, Detail: true, Budget: budget, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tables.Records(ctx, bytes.NewReader(buf.Bytes()), tables.Query{}, func(rec arrow.Record) error { return c.Add(rec) }); err != nil {
			t.Fatal(err)
		}
		var got []string
		for range 2 { // Result may be called again
			got = got[:0]
			sum, err := c.Result(5, func(cl tables.Class) error {
				var ws []float64
				for _, w := range cl.Weights[0] {
					ws = append(ws, w)
				}
				slices.Sort(ws)
				got = append(got, fmt.Sprintf("rows=%d persons=%d distinct=%d weights=%v", cl.Rows, cl.Persons, cl.Distinct[0], ws))
				return nil
			})
			if err != nil || sum.Persons != 3002 || sum.Classes != 2 || sum.BelowK != 1 {
				t.Fatalf("budget %d: %+v %v", budget, sum, err)
			}
		}
		c.Close()
		slices.Sort(got)
		want := []string{"rows=3000 persons=3000 distinct=1 weights=[3000]", "rows=4 persons=2 distinct=2 weights=[0.5 1.5]"}
		if !slices.Equal(got, want) {
			t.Fatalf("budget %d: %v, want %v", budget, got, want)
		}
	}
}
