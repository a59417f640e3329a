package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"hdw/keys"
	"hdw/tables/tablestest"
)

// TestIssue17_MigrateCommand: hdw migrate runs under the profiles that
// hold store keys, each migrating what it may open (SEC-LOG-4..6), is
// audited, and is a no-op on a warehouse already typed; other profiles are
// refused. (The migration of an old warehouse itself:
// pipeline.TestIssue17_OldWarehouseReadAndMigrated.)
func TestIssue17_MigrateCommand(t *testing.T) {
	c, src := initialized(t, demoUpload())
	c.must(3, "--profile", "ingest", "ingest", src)
	out := c.must(0, "--profile", "curator", "migrate")
	if !strings.Contains(out, "0 tables rewritten typed") || !strings.Contains(out, "skipped") || !strings.Contains(out, "identity") {
		t.Fatalf("curator migrate: %s", out)
	}
	out = c.must(0, "--profile", "dpo", "migrate")
	if !strings.Contains(out, "0 tables rewritten typed") {
		t.Fatalf("dpo migrate: %s", out)
	}
	if code, _, _ := c.run("--profile", "researcher:x", "migrate"); code == 0 {
		t.Fatal("a researcher may migrate")
	}
	if log := c.must(0, "--profile", "admin", "audit", "verify"); log == "" {
		t.Fatal("no audit verify output")
	}
}

// TestIssue17_PulledWorkspaceOpensInDuckDB: after a demo-style ingest, a
// pulled workspace opens in DuckDB with typed columns (BIGINT, DOUBLE,
// DATE) in dictionary order, and the rows hold real values.
func TestIssue17_PulledWorkspaceOpensInDuckDB(t *testing.T) {
	c, src := initialized(t, demoUpload())
	c.must(3, "--profile", "ingest", "ingest", src)
	c.must(0, "--profile", "curator", "workspace", "create", "duck", "--approval", "CSE-2026-17",
		"--columns", "birth_year,height_cm,weight_kg,modality,visit_date,sex_code,diagnosis")
	dir := filepath.Join(c.dir, "pull")
	c.must(0, "--profile", "researcher:duck", "workspace", "pull", "duck", "--out", dir)
	file := filepath.Join(dir, "records.parquet")
	var got []string
	for _, r := range tablestest.DuckDB(t, keys.Secret{}, "DESCRIBE SELECT * FROM read_parquet('"+file+"')") {
		got = append(got, fmt.Sprint(r[0], " ", r[1]))
	}
	want := "pseudonym VARCHAR,image VARCHAR,diagnosis VARCHAR,visit_date DATE,modality VARCHAR,weight_kg DOUBLE,height_cm DOUBLE,birth_year BIGINT,sex_code VARCHAR"
	if strings.Join(got, ",") != want {
		t.Fatalf("DuckDB sees\n %s\nwant\n %s", strings.Join(got, ","), want)
	}
	rows := tablestest.DuckDB(t, keys.Secret{}, "SELECT count(*), count(weight_kg), min(birth_year) > 1900, max(visit_date) > DATE '2000-01-01' FROM read_parquet('"+file+"')")
	if fmt.Sprint(rows[0][0]) == "0" || fmt.Sprint(rows[0][1]) == "0" || rows[0][2] != true || rows[0][3] != true {
		t.Fatalf("typed values: %v", rows)
	}
}
