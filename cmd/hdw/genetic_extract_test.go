package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/rights"
)

// TestIssue22_SEC_LOG_6_GeneticExtractCLI: a right of access covering
// genetic data, by two people on the local keyring. The DPO operator's
// access asks and stops (nothing written); the curator operator lists
// the ask and prepares the extract; the DPO's access then delivers
// genetic.csv; the DPO cannot prepare the extract; the trail holds both
// steps, by two operator ids, and no identifier; audit verify passes.
func TestIssue22_SEC_LOG_6_GeneticExtractCLI(t *testing.T) {
	up := demoUpload()
	c, src := initialized(t, up)
	c.must(3, "--profile", "ingest", "ingest", src)
	ids := map[string]string{}
	for _, o := range [][2]string{{"dora", "dpo"}, {"cora", "curator"}} {
		var op struct{ ID string }
		decodeJSON(t, c.must(0, "--profile", "admin", "--json", "operator", "add", o[0], "--role", o[1], "--decision", "CSE-T-1"), &op)
		ids[o[0]] = op.ID
	}
	as := func(op string, args ...string) (int, string, string) {
		c.env["HDW_OPERATOR"] = op
		defer delete(c.env, "HDW_OPERATOR")
		return c.run(args...)
	}
	p0 := up.Persons[0]
	pkg := filepath.Join(c.dir, "pkg")
	access := []string{"--profile", "dpo", "--json", "rights", "access", "--request", "DPO-G-7", "--nir", p0.NIR, "--out", pkg}
	if code, _, errOut := as("dora", access...); code != 1 || !strings.Contains(errOut, "genetic-extract") {
		t.Fatalf("first access: %d %s", code, errOut)
	}
	if ents, _ := os.ReadDir(pkg); len(ents) != 0 {
		t.Fatal("a package without the genetic rows was written")
	}
	if code, _, _ := as("dora", "--profile", "curator", "rights", "genetic-extract", "--request", "DPO-G-7"); code == 0 {
		t.Fatal("the DPO prepared the extract under the curator profile")
	}
	if code, _, errOut := c.run("--profile", "curator", "rights", "genetic-extract", "--request", "DPO-G-7"); code != 1 || !strings.Contains(errOut, "enrolled operator") {
		t.Fatalf("an extract by nobody in particular: %d %s", code, errOut)
	}
	if code, out, errOut := as("cora", "--profile", "curator", "rights", "genetic-extract"); code != 0 || !strings.Contains(out, "DPO-G-7") || !strings.Contains(out, ids["dora"]) {
		t.Fatalf("pending asks: %d %s %s", code, out, errOut)
	}
	code, out, errOut := as("cora", "--profile", "curator", "--json", "rights", "genetic-extract", "--request", "DPO-G-7")
	if code != 0 {
		t.Fatalf("cora's extract: %d %s", code, errOut)
	}
	var e rights.GeneticExtract
	decodeJSON(t, out, &e)
	if e.ExtractedBy != ids["cora"] || e.Rows < 1 {
		t.Fatalf("extract: %+v", e)
	}
	code, out, errOut = as("dora", access...)
	if code != 0 {
		t.Fatalf("second access: %d %s", code, errOut)
	}
	var rep rights.AccessReport
	decodeJSON(t, out, &rep)
	g, err := os.ReadFile(filepath.Join(pkg, "genetic.csv"))
	if err != nil || rep.Genetic != e.Rows || !strings.Contains(string(g), "BRCA2") {
		t.Fatalf("package: %d genetic rows, %v", rep.Genetic, err)
	}
	trail := string(readPrefix(t, c, "audit/segments/"))
	if !strings.Contains(trail, ids["dora"]) || !strings.Contains(trail, ids["cora"]) {
		t.Fatal("the ask and the extract are two people's in the trail")
	}
	assertNoLeak(t, "audit trail", []byte(trail), p0.Identifiers())
	assertNoLeak(t, "genetic records", readPrefix(t, c, rights.GeneticPrefix), append(p0.Identifiers(), "BRCA2"))
	c.must(0, "--profile", "admin", "audit", "verify")
}
