package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/synth"
)

// TestSEC_EXP_2_ExportWorkflow: request, refusal to fetch before approval,
// approval by the approver, fetch without pseudonyms; a failing request is
// quarantined with an alert and needs a justification.
func TestSEC_EXP_2_ExportWorkflow(t *testing.T) {
	c := newCLI(t)
	up := synth.NewUpload(synth.UploadSpec{Seed: 11, Patients: 40, DICOMPerPatient: 1})
	src := filepath.Join(c.dir, "upload")
	writeUpload(t, src, up)
	c.must(0, "init")
	c.must(0, "--profile", "ingest", "ingest", src)
	out := c.must(0, "--profile", "curator", "--json", "export", "request", "study1", "--quasi", "sex_code", "--sensitive", "diagnosis", "--k", "3", "--l", "2")
	var res struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	decodeJSON(t, out, &res)
	if res.Status != "pending-approval" {
		t.Fatalf("status %s", res.Status)
	}
	dir := filepath.Join(c.dir, "out")
	code, _, errOut := c.run("--profile", "curator", "export", "fetch", res.ID, "--out", dir)
	if code != 1 || !strings.Contains(errOut, "approved") {
		t.Fatalf("fetch before approval: %d %s", code, errOut)
	}
	if code, _, _ := c.run("--profile", "curator", "export", "approve", res.ID); code == 0 {
		t.Fatal("the curator may not approve")
	}
	c.must(0, "--profile", "approver", "export", "approve", res.ID)
	c.must(0, "--profile", "curator", "export", "fetch", res.ID, "--out", dir)
	data, _ := os.ReadFile(filepath.Join(dir, "data.csv"))
	// Columns in the export's order (issue 17: tables keep their column order).
	if hdr, _, _ := strings.Cut(string(data), "\n"); (hdr != "diagnosis,sex_code" && hdr != "sex_code,diagnosis") || strings.Count(string(data), "\n") < 30 || strings.Contains(string(data), "pseudonym") {
		t.Fatalf("released data: %.200s", data)
	}
	for _, f := range []string{"report.json", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	assertNoLeak(t, "released export", data, secrets(up))
	// SEC-EXP-3: a failing export is quarantined and alerts.
	code, out, errOut = c.run("--profile", "curator", "--json", "export", "request", "study1", "--quasi", "birth_year,department,sex_code", "--sensitive", "diagnosis", "--k", "5", "--max-suppression", "0.01")
	if code != 3 || !strings.Contains(errOut, "ALERT") {
		t.Fatalf("failing export: exit %d %s", code, errOut)
	}
	decodeJSON(t, out, &res)
	if res.Status != "quarantined" {
		t.Fatal(res.Status)
	}
	if code, _, _ := c.run("--profile", "approver", "export", "approve", res.ID); code != 2 {
		t.Fatalf("quarantined export approved without justification: %d", code)
	}
	c.must(0, "--profile", "approver", "export", "approve", res.ID, "--justification", "reviewed: aggregated counts only")
	// Inside a workspace: its own table and pseudonyms.
	c.must(0, "--profile", "curator", "workspace", "create", "study2", "--approval", "CSE-7", "--columns", "diagnosis,sex_code,body_site")
	out = c.must(0, "--profile", "curator", "--json", "export", "request", "study2", "--table", "records", "--quasi", "sex_code", "--sensitive", "diagnosis", "--k", "3")
	decodeJSON(t, out, &res)
	if res.Status != "pending-approval" {
		t.Fatalf("workspace export: %s", res.Status)
	}
	// SEC-EXP-2: an approver who requested the export may not approve it
	// (the same person can hold both roles, e.g. one Vault entity).
	_, ap := c.openAs("approver")
	op, _ := ap.Operator(context.Background())
	reqFile := filepath.Join(c.env["HDW_WAREHOUSE"], "exports", res.ID, "request.json")
	b, _ := os.ReadFile(reqFile)
	var rec map[string]any
	json.Unmarshal(b, &rec)
	rec["requester"] = op
	b, _ = json.Marshal(rec)
	os.WriteFile(reqFile, b, 0o600)
	if code, _, errOut := c.run("--profile", "approver", "export", "approve", res.ID); code != 1 || !strings.Contains(errOut, "requester") {
		t.Fatalf("self-approval: %d %s", code, errOut)
	}
	audit := readPrefix(t, c, "audit/")
	if !strings.Contains(string(audit), "export.quarantine") || !strings.Contains(string(audit), `"alert"`) {
		t.Fatal("quarantine alert not audited")
	}
}
