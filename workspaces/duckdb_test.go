package workspaces_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hdw/configs"
	"hdw/keys"
	"hdw/pipeline"
	"hdw/tables"
	"hdw/tables/tablestest"
	"hdw/warehouse"
	"hdw/workspaces"
)

// typedBatch commits a health batch written as ingest writes it (typed).
func (w *testWarehouse) typedBatch(t *testing.T, batch string, n int) {
	t.Helper()
	ctx := context.Background()
	dict := configs.DefaultDictionary()
	deks, err := w.ing.NewBatchKeys(ctx, batch, []string{keys.Health}, false)
	if err != nil {
		t.Fatal(err)
	}
	tw, err := tables.Create(ctx, w.st, warehouse.HealthTableKey(batch), deks[keys.Health], tables.Envelope, pipeline.HealthSchema(dict))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		row := map[string]string{"pseudonym": fmt.Sprintf("WHP%04d", i), "record_id": batch + "-" + strconv.Itoa(i), "batch": batch,
			"diagnosis": []string{"C50", "I10"}[i%2], "modality": "CT", "visit_date": fmt.Sprintf("189%d-0%d-1%d", i%10, 1+i%9, i%10),
			"weight_kg": strconv.FormatFloat(60+float64(i)/2, 'f', -1, 64), "birth_year": strconv.Itoa(1890 + i), "sex_code": "F"}
		if i == 3 {
			delete(row, "weight_kg") // a null
		}
		if err := tw.AppendMap(row); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.ing.WriteCommit(ctx, warehouse.Commit{Batch: batch, Objects: []warehouse.ObjectRef{{Key: warehouse.HealthTableKey(batch), Store: keys.Health}}}); err != nil {
		t.Fatal(err)
	}
}

// typedWorkspace returns a warehouse with one typed batch of 6 rows
// and a workspace of project holding cols of it, valid for a year.
func typedWorkspace(t *testing.T, project string, cols ...string) *testWarehouse {
	t.Helper()
	w := newTestWarehouse(t)
	w.typedBatch(t, "b1", 6)
	if _, err := workspaces.Create(context.Background(), w.whc, w.cur, workspaces.Spec{Project: project, Approval: "CSE-" + project,
		Columns: cols, Dict: configs.DefaultDictionary(), Now: time.Now(), Expires: time.Now().AddDate(1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestIssue17_SEC_LOG_4_WorkspaceOpensInDuckDB: a workspace table is typed
// (BIGINT, DOUBLE, DATE, dictionary strings as VARCHAR) in dictionary order;
// DuckDB's own Parquet decryption with the workspace key reads the stored
// (modular-encrypted) table, the same rows as the pulled plain file; without
// the key DuckDB reads nothing.
func TestIssue17_SEC_LOG_4_WorkspaceOpensInDuckDB(t *testing.T) {
	ctx := context.Background()
	// Columns asked in another order than the dictionary's.
	w := typedWorkspace(t, "duck", "weight_kg", "birth_year", "diagnosis", "visit_date", "modality")
	dir := t.TempDir()
	if _, err := workspaces.Pull(ctx, w.whc, "duck", dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "records.parquet")
	want := "pseudonym VARCHAR,image VARCHAR,diagnosis VARCHAR,visit_date DATE,modality VARCHAR,weight_kg DOUBLE,birth_year BIGINT"
	var got []string
	for _, r := range tablestest.DuckDB(t, keys.Secret{}, fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet('%s')", plain)) {
		got = append(got, fmt.Sprint(r[0], " ", r[1]))
	}
	if strings.Join(got, ",") != want {
		t.Fatalf("pulled table in DuckDB:\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	q := "SELECT diagnosis, CAST(visit_date AS VARCHAR), weight_kg, birth_year FROM read_parquet('%s'%s) ORDER BY birth_year"
	fromPlain := tablestest.DuckDB(t, keys.Secret{}, fmt.Sprintf(q, plain, ""))
	if len(fromPlain) != 6 || fmt.Sprint(fromPlain[0]) != "[C50 1890-01-10 60 1890]" || fromPlain[3][2] != nil {
		t.Fatalf("pulled rows: %v", fromPlain)
	}

	// The stored table, decrypted by DuckDB with the workspace data key.
	wdek, err := w.whc.DataKey(ctx, "ws-duck", keys.Workspace("duck"))
	if err != nil {
		t.Fatal(err)
	}
	defer wdek.Wipe()
	stored := filepath.Join(t.TempDir(), "records.parquet")
	raw, err := w.st.Open(ctx, "workspaces/duck/records.parquet")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create(stored)
	f.ReadFrom(raw)
	raw.Close()
	f.Close()
	fromStored := tablestest.DuckDB(t, wdek, "PRAGMA add_parquet_key('ws', '$KEY')",
		fmt.Sprintf(q, stored, ", encryption_config = {footer_key: 'ws'}"))
	if fmt.Sprint(fromStored) != fmt.Sprint(fromPlain) {
		t.Fatalf("DuckDB's decryption of the stored table:\n %v\nwant %v", fromStored, fromPlain)
	}
	// Without the key, or with another workspace's key, nothing reads.
	other := keys.RandomSecret()
	for _, k := range []keys.Secret{{}, other} {
		cmdKey := k
		func() {
			defer func() { recover() }()
			stmts := []string{fmt.Sprintf("SELECT count(*) FROM read_parquet('%s')", stored)}
			if cmdKey.Len() > 0 {
				stmts = []string{"PRAGMA add_parquet_key('ws', '$KEY')", fmt.Sprintf(q, stored, ", encryption_config = {footer_key: 'ws'}")}
			}
			if tablestest.DuckDBErr(t, cmdKey, stmts...) == nil {
				t.Errorf("DuckDB read the stored table with key length %d", cmdKey.Len())
			}
		}()
	}
}

// TestIssue17_LegacyWorkspaceReadAndMigrated: a workspace built before
// issue 17 (all-string tables in the envelope) verifies, pulls and is read
// as it is; workspaces.Migrate rewrites it typed with modular encryption,
// re-sealed (verify passes), the same rows; a rerun changes nothing.
func TestIssue17_LegacyWorkspaceReadAndMigrated(t *testing.T) {
	ctx := context.Background()
	w := typedWorkspace(t, "old", "weight_kg", "birth_year", "visit_date")
	dict := configs.DefaultDictionary()
	if err := workspaces.ToLegacyForTest(ctx, w.whc, w.cur, "old"); err != nil {
		t.Fatal(err)
	}
	read := func() (string, *tables.Schema) {
		t.Helper()
		if problems, err := workspaces.Verify(ctx, w.whc, w.cur, "old"); err != nil || len(problems) > 0 {
			t.Fatalf("verify: %v %v", err, problems)
		}
		dir := t.TempDir()
		if _, err := workspaces.Pull(ctx, w.whc, "old", dir, time.Now()); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "records.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		s, err := tables.ScanBytes(ctx, data, tables.Query{Columns: []string{"pseudonym", "visit_date", "weight_kg", "birth_year"}}, func(r *tables.Row) error {
			rows = append(rows, r.Get("pseudonym")+" "+r.Get("visit_date")+" "+r.Get("weight_kg")+" "+r.Get("birth_year"))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(rows)
		return strings.Join(rows, "\n"), s
	}
	before, s := read()
	if s.Typed() || len(before) == 0 {
		t.Fatalf("fixture not in the old layout (typed %v) or empty", s.Typed())
	}
	m, typed, err := workspaces.Migrate(ctx, w.whc, w.cur, dict)
	if err != nil || m != 1 || typed != 0 {
		t.Fatalf("migrate: %d %d %v", m, typed, err)
	}
	after, s := read()
	if after != before {
		t.Fatalf("rows changed:\n%s\n--\n%s", before, after)
	}
	if ty, _ := s.Lookup("birth_year"); ty != tables.Int || strings.Join(s.Columns(), ",") != "pseudonym,image,visit_date,weight_kg,birth_year" {
		t.Fatalf("after migration: %v, birth_year %v", s.Columns(), ty)
	}
	if m, typed, err := workspaces.Migrate(ctx, w.whc, w.cur, dict); err != nil || m != 0 || typed != 1 {
		t.Fatalf("rerun: %d %d %v", m, typed, err)
	}
}
