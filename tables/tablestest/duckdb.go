package tablestest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"hdw/internal/testenv"
	"hdw/keys"
)

// DuckDB is the independent reader of hdw's tables in tests (issue 17):
// the npm @duckdb/node-api that bench/kanon-duckdb.sh installs, run by
// node, so that no hdw binary links DuckDB.

// duckdbModule returns the folder holding node_modules/@duckdb/node-api
// (the one bench/kanon-duckdb.sh installs), installing it with npm if it
// is missing. It skips when DuckDB cannot be had, and fails instead under
// HDW_DISALLOW_SKIP=1 (make test).
func duckdbModule(t testing.TB) string {
	t.Helper()
	fail := func(format string, a ...any) {
		t.Helper()
		testenv.Missing(t, "DuckDB, the independent reader, is required: "+fmt.Sprintf(format, a...))
	}
	if _, err := exec.LookPath("node"); err != nil {
		fail("node not found")
	}
	dir := os.Getenv("HDW_CACHE")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "hdw")
	}
	dir = filepath.Join(dir, "duckdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		os.MkdirAll(dir, 0o755)
		cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "@duckdb/node-api@1.5.6-r.1")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			fail("npm install @duckdb/node-api: %v: %s", err, out)
		}
	}
	return dir
}

// DuckDB runs SQL statements in DuckDB (node) and returns the rows of the
// last one as JSON values. The key, if any, goes through the environment
// (HDW_DUCKDB_KEY), never a command line.
func DuckDB(t testing.TB, key keys.Secret, stmts ...string) [][]any {
	t.Helper()
	out, err := runDuckDB(t, key, stmts, `console.log(JSON.stringify(r.getRowsJson()));`)
	if err != nil {
		t.Fatalf("duckdb: %v", err)
	}
	var rows [][]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("duckdb output %q: %v", out, err)
	}
	return rows
}

// DuckDBErr is [DuckDB] expecting a failure: it returns nil if DuckDB succeeded.
func DuckDBErr(t testing.TB, key keys.Secret, stmts ...string) error {
	t.Helper()
	_, err := runDuckDB(t, key, stmts, "")
	return err
}

// runDuckDB runs stmts in order in node, then the script's tail (r is the
// last result); it returns the standard output, or an error carrying the
// standard error.
func runDuckDB(t testing.TB, key keys.Secret, stmts []string, tail string) ([]byte, error) {
	t.Helper()
	dir := duckdbModule(t)
	js := fmt.Sprintf(`import { DuckDBInstance } from '%s/node_modules/@duckdb/node-api/lib/index.js';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
let r;
for (const s of JSON.parse(process.env.HDW_DUCKDB_SQL)) r = await c.runAndReadAll(s.replace('$KEY', process.env.HDW_DUCKDB_KEY || ''));
%s
`, dir, tail)
	script := filepath.Join(t.TempDir(), "q.mjs")
	if err := os.WriteFile(script, []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	sql, _ := json.Marshal(stmts)
	cmd := exec.Command("node", script)
	cmd.Env = append(os.Environ(), "HDW_DUCKDB_SQL="+string(sql))
	if key.Len() > 0 {
		cmd.Env = append(cmd.Env, "HDW_DUCKDB_KEY="+base64.StdEncoding.EncodeToString(key.Bytes()))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%v: %s", err, stderr.String())
	}
	return out, nil
}
