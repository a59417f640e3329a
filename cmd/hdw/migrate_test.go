package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestIssue17_MigrateCommand: hdw migrate runs under the profiles that
// hold store keys, each migrating what it may open (SEC-LOG-4..6), is
// audited, and is a no-op on a warehouse already typed; other profiles are
// refused. (The migration of an old warehouse itself:
// pipeline.TestIssue17_OldWarehouseReadAndMigrated.)
func TestIssue17_MigrateCommand(t *testing.T) {
	c := newCLI(t)
	src := filepath.Join(c.dir, "upload")
	writeUpload(t, src, demoUpload())
	c.must(0, "init")
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
