package export_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"hdw/configs"
	"hdw/export"
	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/objstore/storetest"
	"hdw/tables"
	"hdw/tables/tablestest"
	"hdw/warehouse"
)

// releaseDesk returns a warehouse holding one committed, typed health
// batch of n rows (two persons per class) and desks for the curator and
// an approver.
func releaseDesk(t *testing.T, n int) (cur, appr *export.Desk) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Local(t, t.TempDir())
	if err := warehouse.Create(ctx, st, warehouse.Descriptor{ID: "t", KeyProvider: "local"}); err != nil {
		t.Fatal(err)
	}
	vault := keystest.NewFakeVault()
	open := func(profile string) *warehouse.Warehouse {
		wh, err := warehouse.Open(ctx, st, keystest.NewFake(profile, vault))
		if err != nil {
			t.Fatal(err)
		}
		return wh
	}
	dict := configs.DefaultDictionary()
	ing := open(keys.ProfileIngest)
	deks, err := ing.NewBatchKeys(ctx, "b1", []string{keys.Health}, false)
	if err != nil {
		t.Fatal(err)
	}
	cols := export.HealthColumns(dict)
	w, err := tables.Create(ctx, st, warehouse.HealthTableKey("b1"), deks[keys.Health], tables.Envelope, tables.FromDictionary(dict, cols))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c := i / 2 // two persons per class
		if err := w.AppendMap(map[string]string{"pseudonym": fmt.Sprintf("P%05d", i), "record_id": strconv.Itoa(i), "batch": "b1",
			"birth_year": strconv.Itoa(1940 + 10*(c%5)), "sex_code": []string{"F", "M"}[c/5%2], "department": []string{"75", "13"}[c/10%2],
			"visit_date": fmt.Sprintf("%d-03-0%d", 2020+c/20%3, 1+i%9), "diagnosis": []string{"C50", "I10"}[i%2],
			"weight_kg": strconv.Itoa(60 + 5*(i%4))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ing.WriteCommit(ctx, warehouse.Commit{Batch: "b1", Objects: []warehouse.ObjectRef{{Key: warehouse.HealthTableKey("b1"), Store: keys.Health}}}); err != nil {
		t.Fatal(err)
	}
	cur = &export.Desk{WH: open(keys.ProfileCurator), Dict: dict, Operator: curator.id, Role: "curator", Signer: curator}
	appr = &export.Desk{WH: open(keys.ProfileApprover), Dict: dict, Operator: approver1.id, Role: "approver", Signer: approver1}
	return cur, appr
}

// TestIssue17_ReleasedExportOpensInDuckDBTyped: a released export is a
// typed table written by the table layer: DuckDB reads BIGINT, DOUBLE and
// VARCHAR columns in dictionary order, a generalized column under a name
// of its own (the 10-year age band is age_band_10y, never birth_year), the
// same rows as were checked.
func TestIssue17_ReleasedExportOpensInDuckDBTyped(t *testing.T) {
	ctx := context.Background()
	cur, appr := releaseDesk(t, 240)
	sub, err := cur.Submit(ctx, export.HealthSource(cur.WH, export.HealthColumns(cur.Dict)), export.SubmitRequest{Project: "p", ApprovalRef: "CSE-1", Table: "health",
		Request: export.Request{Sensitive: []string{"diagnosis", "weight_kg"}, PersonColumn: "pseudonym", K: 2, L: 1, Reference: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Rules: []export.Rule{{Column: "birth_year", Kind: "age-band", Width: 10}, {Column: "visit_date", Kind: "date-year"}, {Column: "department", Kind: "postcode-region"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !sub.Report.Pass {
		t.Fatalf("the request failed the gate: %v", sub.Report.Reasons)
	}
	want := []string{"diagnosis", "visit_date_year", "weight_kg", "age_band_10y", "sex_code", "region"}
	if fmt.Sprint(sub.Report.ReleasedColumns) != fmt.Sprint(want) {
		t.Fatalf("released columns %v, want %v", sub.Report.ReleasedColumns, want)
	}
	if _, err := appr.Decide(ctx, sub.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	var data bytes.Buffer
	if _, err := cur.Release(ctx, sub.ID, &data); err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/data.parquet"
	if err := os.WriteFile(file, data.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	rows := tablestest.DuckDB(t, keys.Secret{}, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('"+file+"'))")
	wantTypes := []string{"VARCHAR", "BIGINT", "DOUBLE", "VARCHAR", "VARCHAR", "VARCHAR"}
	if len(rows) != len(want) {
		t.Fatalf("DuckDB columns %v", rows)
	}
	for i, r := range rows {
		if r[0] != want[i] || r[1] != wantTypes[i] {
			t.Errorf("column %d: DuckDB reads %v, want %s %s", i, r, want[i], wantTypes[i])
		}
	}
	agg := tablestest.DuckDB(t, keys.Secret{}, "SELECT count(*)::INT, min(visit_date_year)::INT, max(visit_date_year)::INT, sum(weight_kg)::INT, count(DISTINCT age_band_10y)::INT FROM read_parquet('"+file+"')")
	if got := fmt.Sprint(agg); got != "[[240 2020 2022 16200 5]]" {
		t.Errorf("DuckDB reads %s, want [[240 2020 2022 16200 5]]", got)
	}
}

// TestIssue17_ReleaseLayoutNames: each generalization has a name and type
// of its own; a derived name already taken is prefixed with its column;
// the export pseudonym comes last.
func TestIssue17_ReleaseLayoutNames(t *testing.T) {
	dict := configs.DefaultDictionary()
	req := export.Request{ExportPseudonyms: true, Rules: []export.Rule{{Column: "birth_year", Kind: "age-band", Width: 5},
		{Column: "visit_date", Kind: "date-quarter"}, {Column: "weight_kg", Kind: "bin", Width: 2.5}, {Column: "height_cm", Kind: "bin", Width: 10},
		{Column: "department", Kind: "postcode-department"}}}
	l, err := export.ReleaseLayout(dict, req, []string{"sex_code", "birth_year", "department", "age_band_5y", export.ExportPseudonymColumn, "visit_date", "weight_kg", "height_cm", "modality"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range l.Schema.Fields() {
		got = append(got, f.Name+":"+f.Type.String())
	}
	want := "[visit_date_quarter:enum modality:enum weight_kg_bin_2_5:enum height_cm_bin_10:enum birth_year_age_band_5y:enum sex_code:enum department:enum age_band_5y:string " + export.ExportPseudonymColumn + ":string]"
	if fmt.Sprint(got) != want {
		t.Errorf("layout %v\nwant %s", got, want)
	}
	if fmt.Sprint(l.From) != "[5 8 6 7 1 0 2 3 4]" {
		t.Errorf("from %v", l.From)
	}
}
