package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/synth"
)

const justification = "reviewed with the DPO: the small classes hold adults with common diagnoses, aggregated before any publication"

// TestSEC_EXP_2_ExportWorkflow: request (project, approval reference),
// refusal to fetch before approval, approval by the approver, fetch
// without pseudonyms, the approver's list and show; a failing request is
// quarantined with an alert and needs a justification of substance and a
// second approver; an edited record is refused with an alert.
func TestSEC_EXP_2_ExportWorkflow(t *testing.T) {
	up := synth.NewUpload(synth.UploadSpec{Seed: 11, Patients: 40, DICOMPerPatient: 1})
	c := ingested(t, up, 0)
	if code, _, errOut := c.run("--profile", "curator", "export", "request", "study1", "--sensitive", "diagnosis"); code != 2 || !strings.Contains(errOut, "--approval") {
		t.Fatalf("request without an approval reference: %d %s", code, errOut)
	}
	out := c.must(0, "--profile", "curator", "--json", "export", "request", "study1", "--approval", "CSE-2026-001", "--quasi", "sex_code", "--sensitive", "diagnosis", "--rules", "birth_year:drop,department:drop,visit_date:drop", "--k", "5", "--l", "2")
	var res struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	decodeJSON(t, out, &res)
	if res.Status != "pending-approval" {
		t.Fatalf("status %s", res.Status)
	}
	first := res.ID
	dir := filepath.Join(c.dir, "out")
	code, _, errOut := c.run("--profile", "curator", "export", "fetch", first, "--out", dir)
	if code != 1 || !strings.Contains(errOut, "approved") {
		t.Fatalf("fetch before approval: %d %s", code, errOut)
	}
	if code, _, _ := c.run("--profile", "curator", "export", "approve", first); code == 0 {
		t.Fatal("the curator may not approve")
	}
	out = c.must(0, "--profile", "approver", "--json", "export", "list", "--state", "pending-approval")
	if !strings.Contains(out, first) || !strings.Contains(out, "CSE-2026-001") {
		t.Fatalf("export list: %s", out)
	}
	c.must(0, "--profile", "approver", "export", "approve", first)
	c.must(0, "--profile", "curator", "export", "fetch", first, "--out", dir)
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
	// The approver's view: who, when, project, columns, rules, checks with
	// their values, suppression, the history with each decision.
	out = c.must(0, "--profile", "approver", "--json", "export", "show", first)
	for _, want := range []string{`"state": "released"`, `"approval_ref": "CSE-2026-001"`, `"requester": "LH-`, `"g29_criterion": "singling out"`, `"g29_criterion": "inference"`,
		`"kind": "request"`, `"kind": "approve"`, `"kind": "release"`, `"suppressed_rows"`, `"dictionary_quasi_identifiers"`} {
		if !strings.Contains(out, want) {
			t.Errorf("export show lacks %s", want)
		}
	}
	report, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if !strings.Contains(string(report), `"kind": "approve"`) {
		t.Error("report.json not regenerated at the decision")
	}
	// SEC-EXP-3: a failing export is quarantined and alerts.
	code, out, errOut = c.run("--profile", "curator", "--json", "export", "request", "study1", "--approval", "CSE-2026-001", "--quasi", "birth_year,department,sex_code", "--sensitive", "diagnosis", "--k", "5", "--max-suppression", "0.01")
	if code != 3 || !strings.Contains(errOut, "ALERT") {
		t.Fatalf("failing export: exit %d %s", code, errOut)
	}
	decodeJSON(t, out, &res)
	if res.Status != "quarantined" {
		t.Fatal(res.Status)
	}
	failed := res.ID
	if code, _, _ := c.run("--profile", "approver", "export", "approve", failed); code != 2 {
		t.Fatalf("quarantined export approved without justification: %d", code)
	}
	if code, _, errOut := c.run("--profile", "approver", "export", "approve", failed, "--justification", "ok"); code != 2 || !strings.Contains(errOut, "substance") {
		t.Fatalf("quarantined export approved with \"ok\": %d %s", code, errOut)
	}
	out = c.must(0, "--profile", "approver", "--json", "export", "approve", failed, "--justification", justification)
	if !strings.Contains(out, "awaiting-second-approval") {
		t.Fatalf("one approval released a failed export: %s", out)
	}
	if code, _, _ := c.run("--profile", "curator", "export", "fetch", failed, "--out", filepath.Join(c.dir, "out2")); code != 1 {
		t.Fatal("fetched with one approval of two")
	}
	if code, _, _ := c.run("--profile", "approver", "export", "approve", failed, "--justification", justification); code != 1 {
		t.Fatal("the same approver counted twice")
	}
	out = c.must(0, "--profile", "dpo", "--json", "export", "approve", failed, "--justification", justification)
	if !strings.Contains(out, `"approved"`) {
		t.Fatalf("second approval by the DPO: %s", out)
	}
	out = c.must(0, "--profile", "approver", "--json", "export", "list", "--state", "approved")
	if !strings.Contains(out, failed) || !strings.Contains(out, "justified_release") {
		t.Fatalf("justified release not listed as such: %s", out)
	}
	if rev := c.must(0, "--profile", "admin", "audit", "review", "--since", "2020-01-01"); !strings.Contains(rev, "export.justified-release") {
		t.Fatalf("the justified release is not flagged in audit review:\n%s", rev)
	}
	// Inside a workspace: its own table and pseudonyms; the request names it.
	c.must(0, "--profile", "curator", "workspace", "create", "study2", "--approval", "CSE-7", "--columns", "diagnosis,sex_code,body_site")
	if code, _, errOut := c.run("--profile", "curator", "export", "request", "study2", "--approval", "CSE-7", "--sensitive", "diagnosis"); code != 2 || !strings.Contains(errOut, "--workspace") {
		t.Fatalf("request on a project with a workspace, not naming it: %d %s", code, errOut)
	}
	out = c.must(0, "--profile", "curator", "--json", "export", "request", "study2", "--approval", "CSE-7", "--table", "records", "--quasi", "sex_code", "--sensitive", "diagnosis", "--k", "5")
	decodeJSON(t, out, &res)
	if res.Status != "pending-approval" {
		t.Fatalf("workspace export: %s", res.Status)
	}
	// SEC-EXP-2: an edited request (here its status set by hand, as the
	// old request.json allowed) is refused with an alert.
	reqFile := filepath.Join(c.env["HDW_WAREHOUSE"], "exports", res.ID, "request.json")
	b, _ := os.ReadFile(reqFile)
	os.Chmod(reqFile, 0o600)
	os.WriteFile(reqFile, []byte(strings.Replace(string(b), `"pass": true`, `"pass": true, "status": "approved"`, 1)), 0o600)
	if code, _, errOut := c.run("--profile", "curator", "export", "fetch", res.ID, "--out", filepath.Join(c.dir, "out3")); code != 1 || !strings.Contains(errOut, "ALERT") {
		t.Fatalf("edited request fetched: %d %s", code, errOut)
	}
	os.WriteFile(reqFile, []byte(strings.Replace(string(b), `"k": 5`, `"k": 50`, 1)), 0o600)
	if code, _, errOut := c.run("--profile", "approver", "export", "approve", res.ID); code != 1 || !strings.Contains(errOut, "ALERT") {
		t.Fatalf("edited request approved: %d %s", code, errOut)
	}
	audit := auditPlain(t, c)
	for _, a := range []string{"export.quarantine", `"alert"`, "export.justified-release", "export.forged"} {
		if !strings.Contains(string(audit), a) {
			t.Errorf("%s not audited", a)
		}
	}
}
