package indicators_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"testing"

	"github.com/parquet-go/parquet-go"

	"hdw/indicators"
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
	f, err := parquet.OpenFile(bytes.NewReader(pq.Bytes()), int64(pq.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != 2 {
		t.Fatalf("%d rows", f.NumRows())
	}
	want := map[string]parquet.Kind{"value": parquet.Double, "ci_lower": parquet.Double, "epsilon": parquet.Double,
		"max_rows_per_group": parquet.Int64, "sex_code": parquet.ByteArray, "visit_date_month": parquet.ByteArray}
	for _, c := range f.Schema().Fields() {
		if k, ok := want[c.Name()]; ok && c.Type().Kind() != k {
			t.Errorf("column %s is %v, want %v", c.Name(), c.Type().Kind(), k)
		}
		delete(want, c.Name())
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
