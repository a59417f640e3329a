package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hdw/synth"
)

var refusedEvent = regexp.MustCompile(`"outcome":"(denied|alert)"`)

// TestIssue21_AttackSuite is the held-back attack suite of issue 21: a
// careless or hostile curator, approver or DPO tries each attack on a real
// warehouse. Every attack must be refused with a non-zero exit, leave an
// audit event (outcome denied or alert), and release nothing.
func TestIssue21_AttackSuite(t *testing.T) {
	up := synth.NewUpload(synth.UploadSpec{Seed: 21, Patients: 40, DICOMPerPatient: 1})
	c := ingested(t, up, 0)
	var res struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	request := func(args ...string) (int, string) {
		t.Helper()
		code, out, _ := c.run(append([]string{"--profile", "curator", "--json", "export", "request", "study1", "--approval", "CSE-2026-021"}, args...)...)
		if code == 0 || code == 3 {
			decodeJSON(t, out, &res)
		}
		return code, res.ID
	}
	// A legitimate pending export (the target of several attacks).
	code, pending := request("--sensitive", "diagnosis", "--rules", "birth_year:drop,department:drop,visit_date:drop")
	if code != 0 {
		t.Fatalf("legitimate request: exit %d", code)
	}
	loose := filepath.Join(c.dir, "loose.yaml")
	os.WriteFile(loose, []byte("export: {k: 2}\nrights: {max_reidentifications_per_day: 320}\n"), 0o600)
	// The quarantined export of the narrowed request, for the justification attack.
	_, narrowed := request("--quasi", "sex_code", "--sensitive", "diagnosis")
	n := 0
	out := func() string { n++; return filepath.Join(c.dir, "out", string(rune('a'+n))) }
	attacks := []struct {
		name string
		run  func() (code int, outDir string)
	}{
		{"narrowed quasi-identifiers (--quasi sex_code alone)", func() (int, string) {
			code, _ := request("--quasi", "sex_code", "--sensitive", "diagnosis")
			return code, ""
		}},
		{"k below the policy by flag", func() (int, string) {
			code, _ := request("--sensitive", "diagnosis", "--k", "2")
			return code, ""
		}},
		{"k loosened by --config", func() (int, string) {
			code, _, _ := c.run("--profile", "curator", "--config", loose, "export", "request", "study1", "--approval", "X-1", "--sensitive", "diagnosis")
			return code, ""
		}},
		{"re-identification limit raised by HDW_CONFIG", func() (int, string) {
			c.env["HDW_CONFIG"] = loose
			defer delete(c.env, "HDW_CONFIG")
			code, _, _ := c.run("--profile", "dpo", "reidentify", "--criteria", "diagnosis != ''", "--request", "R-21", "--reason", "recontact")
			return code, ""
		}},
		{"fetch before approval", func() (int, string) {
			d := out()
			code, _, _ := c.run("--profile", "curator", "export", "fetch", pending, "--out", d)
			return code, d
		}},
		{"self-approval (the curator approves)", func() (int, string) {
			code, _, _ := c.run("--profile", "curator", "export", "approve", pending)
			return code, ""
		}},
		{"weak justification of a quarantined export", func() (int, string) {
			code, _, _ := c.run("--profile", "approver", "export", "approve", narrowed, "--justification", "ok")
			return code, ""
		}},
		{"edited approval in request.json, then fetch", func() (int, string) {
			f := filepath.Join(c.env["HDW_WAREHOUSE"], "exports", pending, "request.json")
			b, _ := os.ReadFile(f)
			os.Chmod(f, 0o600)
			os.WriteFile(f, []byte(strings.Replace(string(b), `"pass": true`, `"pass": true, "status": "approved", "approver": "LH-USR-x"`, 1)), 0o600)
			defer os.WriteFile(f, b, 0o600)
			d := out()
			code, _, _ := c.run("--profile", "curator", "export", "fetch", pending, "--out", d)
			return code, d
		}},
		{"policy sealed by the curator", func() (int, string) {
			pf := filepath.Join(c.dir, "p.yaml")
			os.WriteFile(pf, []byte("export: {k: 2}\n"), 0o600)
			code, _, _ := c.run("--profile", "curator", "policy", "set", pf)
			return code, ""
		}},
		{"pending export approved after the person's erasure", func() (int, string) {
			c.must(0, "--profile", "dpo", "rights", "erase", "--request", "DPO-21", "--nir", up.Persons[0].NIR)
			code, _, _ := c.run("--profile", "approver", "export", "approve", pending)
			if code == 0 {
				return 0, ""
			}
			d := out()
			code2, _, _ := c.run("--profile", "curator", "export", "fetch", pending, "--out", d)
			if code2 == 0 {
				return 0, d
			}
			return code, d
		}},
		{"policy edited by hand", func() (int, string) {
			pf := filepath.Join(c.dir, "p2.yaml")
			os.WriteFile(pf, []byte("export: {k: 6}\n"), 0o600)
			c.must(0, "--profile", "admin", "policy", "set", pf)
			v1 := filepath.Join(c.env["HDW_WAREHOUSE"], "policy", "v000001.json")
			b, _ := os.ReadFile(v1)
			os.Chmod(v1, 0o600)
			os.WriteFile(v1, []byte(strings.Replace(string(b), `"k": 6`, `"k": 2`, 1)), 0o600)
			code, _ := request("--sensitive", "diagnosis", "--k", "2")
			return code, ""
		}},
	}
	for _, a := range attacks {
		before := len(refusedEvent.FindAll(auditPlain(t, c), -1))
		code, dir := a.run()
		after := len(refusedEvent.FindAll(auditPlain(t, c), -1))
		if code == 0 {
			t.Errorf("%s: exit 0", a.name)
		}
		if after <= before {
			t.Errorf("%s: no audit event (denied or alert)", a.name)
		}
		if dir != "" {
			if _, err := os.Stat(filepath.Join(dir, "data.csv")); err == nil {
				t.Errorf("%s: data released", a.name)
			}
		}
		t.Logf("%-55s exit %d, audit events +%d", a.name, code, after-before)
	}
}
