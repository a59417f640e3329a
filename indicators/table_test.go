package indicators_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"testing"

	"hdw/indicators"
	"hdw/tables"
)

// SEC-EXP-5: each run writes a typed table carrying its noise parameters
// and a confidence interval per value.
func TestSEC_EXP_5_ResultTableTyped(t *testing.T) {
	var data table
	for i := range 300 {
		data = append(data, row{person: fmt.Sprint(i), cells: map[string]string{"sex_code": []string{"F", "M"}[i%2], "visit_date": "2026-03-04"}})
	}
	p := compile(t, indicators.Definition{Name: "n", Measure: indicators.Count, GroupBy: []string{"sex_code", "visit_date:month"}, Epsilon: 1})
	res, _, err := indicators.Compute(context.Background(), p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Values) != 2 {
		t.Fatalf("values %+v", res.Values)
	}
	var pq bytes.Buffer
	if err := indicators.WriteParquet(&pq, res); err != nil {
		t.Fatal(err)
	}
	n := 0
	s, err := tables.ScanBytes(context.Background(), pq.Bytes(), tables.Query{}, func(r *tables.Row) error {
		n++
		if v, ok := r.Float("value"); !ok || v <= 0 {
			t.Errorf("value %v", v)
		}
		if _, ok := r.Float("ci_lower"); !ok {
			t.Error("no ci_lower")
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("%d rows, %v", n, err)
	}
	want := map[string]tables.Type{"value": tables.Float, "ci_lower": tables.Float, "epsilon": tables.Float,
		"max_rows_per_group": tables.Int, "sex_code": tables.Enum, "visit_date_month": tables.Enum}
	for _, f := range s.Fields() {
		if k, ok := want[f.Name]; ok && f.Type != k {
			t.Errorf("column %s is %v, want %v", f.Name, f.Type, k)
		}
		delete(want, f.Name)
	}
	if len(want) != 0 {
		t.Errorf("missing columns %v", want)
	}
	var cs bytes.Buffer
	if err := indicators.WriteCSV(&cs, res); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&cs).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "sex_code" || recs[1][1] != "2026-03" || recs[1][5] == "" {
		t.Fatalf("csv %q %v", recs, err)
	}
}
