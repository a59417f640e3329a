package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/synth"
)

// TestSEC_EXP_2_SignedByOperators: once operators are enrolled, each
// export record is signed by the acting person's own key and verified
// against the operator directory: nobody logged in cannot decide, an
// approval appended by hand (unsigned) is refused with an alert, and the
// history names the persons (issue 21 item 3).
func TestSEC_EXP_2_SignedByOperators(t *testing.T) {
	c := ingested(t, synth.NewUpload(synth.UploadSpec{Seed: 12, Patients: 30, DICOMPerPatient: 1}), 0)
	for _, o := range [][2]string{{"alice", "curator"}, {"bob", "approver"}, {"carol", "approver"}} {
		c.must(0, "--profile", "admin", "operator", "add", o[0], "--role", o[1], "--decision", "CSE-T-1")
	}
	as := func(op string, args ...string) (int, string, string) {
		c.env["HDW_OPERATOR"] = op
		defer delete(c.env, "HDW_OPERATOR")
		return c.run(args...)
	}
	if code, _, errOut := c.run("--profile", "curator", "export", "request", "s1", "--approval", "CSE-1", "--sensitive", "diagnosis"); code != 1 || !strings.Contains(errOut, "HDW_OPERATOR") {
		t.Fatalf("an unsigned request once operators are enrolled: %d %s", code, errOut)
	}
	code, out, errOut := as("alice", "--profile", "curator", "--json", "export", "request", "s1", "--approval", "CSE-1", "--sensitive", "diagnosis",
		"--rules", "birth_year:drop,department:drop,visit_date:drop")
	if code != 0 {
		t.Fatalf("alice's request: %d %s", code, errOut)
	}
	var res struct{ ID string }
	decodeJSON(t, out, &res)
	// An approval appended by hand, unsigned, claiming bob: refused.
	hist := filepath.Join(c.env["HDW_WAREHOUSE"], "exports", res.ID, "history")
	b, _ := os.ReadFile(filepath.Join(hist, "000001.json"))
	var first map[string]any
	json.Unmarshal(b, &first)
	if first["sig"] == nil || first["sig"] == "" {
		t.Fatal("the request entry is not signed")
	}
	if code, _, errOut := c.run("--profile", "approver", "export", "approve", res.ID); code != 1 || !strings.Contains(errOut, "HDW_OPERATOR") {
		t.Fatalf("an approval by nobody in particular: %d %s", code, errOut)
	}
	if code, out, errOut := as("bob", "--profile", "approver", "--json", "export", "approve", res.ID); code != 0 || !strings.Contains(out, "approved") {
		t.Fatalf("bob's approval: %d %s %s", code, out, errOut)
	}
	out = c.must(0, "--profile", "approver", "--json", "export", "show", res.ID)
	if !strings.Contains(out, `"signatures_verified": true`) {
		t.Fatalf("show: %s", out)
	}
	// A forged release entry (unsigned) makes the history fail: fetch refused.
	forged := `{"seq":3,"kind":"release","export":"` + res.ID + `","content_hash":"x","operator":"LH-USR-x","role":"curator","time":"2026-12-06T00:00:00Z"}`
	os.WriteFile(filepath.Join(hist, "000003.json"), []byte(forged), 0o600)
	if code, _, errOut := as("alice", "--profile", "curator", "export", "fetch", res.ID, "--out", filepath.Join(c.dir, "o1")); code != 1 || !strings.Contains(errOut, "ALERT") {
		t.Fatalf("fetch of a forged history: %d %s", code, errOut)
	}
	os.Remove(filepath.Join(hist, "000003.json"))
	if code, _, errOut := as("alice", "--profile", "curator", "export", "fetch", res.ID, "--out", filepath.Join(c.dir, "o2")); code != 0 {
		t.Fatalf("alice's fetch: %d %s", code, errOut)
	}
	out = c.must(0, "--profile", "approver", "--json", "export", "show", res.ID)
	if !strings.Contains(out, `"state": "released"`) || strings.Count(out, `"signed": true`) != 3 {
		t.Fatalf("history after release: %s", out)
	}
}
