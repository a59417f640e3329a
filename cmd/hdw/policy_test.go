package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSEC_EXP_1_SealedPolicy: only the admin seals the policy; every
// command verifies it (a version edited by hand is refused with an alert);
// --config, HDW_CONFIG and flags may only tighten it (refusals audited).
func TestSEC_EXP_1_SealedPolicy(t *testing.T) {
	c := newCLI(t)
	c.must(0, "init")
	out := c.must(0, "--profile", "admin", "--json", "policy", "show")
	if !strings.Contains(out, `"version":0`) || !strings.Contains(out, "built-in") {
		t.Fatalf("default policy: %s", out)
	}
	pf := filepath.Join(c.dir, "policy.yaml")
	os.WriteFile(pf, []byte("export: {k: 7, l: 2}\nreidentification: {max_per_day: 10, max_per_request: 5}\n"), 0o600)
	if code, _, _ := c.run("--profile", "curator", "policy", "set", pf); code != 1 {
		t.Fatalf("curator sealed the policy: exit %d", code)
	}
	c.must(0, "--profile", "admin", "policy", "set", pf)
	out = c.must(0, "--profile", "admin", "--json", "policy", "show")
	if !strings.Contains(out, `"version":1`) || !strings.Contains(out, `"k":7`) {
		t.Fatalf("sealed policy: %s", out)
	}
	// Flags may only tighten: k=5 is below the sealed 7.
	code, _, errOut := c.run("--profile", "curator", "export", "request", "p1", "--approval", "CSE-1", "--sensitive", "diagnosis", "--k", "5")
	if code != 1 || !strings.Contains(errOut, "looser") {
		t.Fatalf("flag loosening: exit %d %s", code, errOut)
	}
	// --config and HDW_CONFIG may only tighten.
	cf := filepath.Join(c.dir, "loose.yaml")
	os.WriteFile(cf, []byte("export: {k: 2}\nrights: {max_reidentifications_per_day: 320}\n"), 0o600)
	code, _, errOut = c.run("--profile", "curator", "--config", cf, "export", "request", "p1", "--approval", "CSE-1", "--sensitive", "diagnosis")
	if code != 1 || !strings.Contains(errOut, "export.k") {
		t.Fatalf("config loosening: exit %d %s", code, errOut)
	}
	c.env["HDW_CONFIG"] = cf
	code, _, errOut = c.run("--profile", "dpo", "rights", "find", "--request", "DPO-1", "--nir", "180017512345619")
	if code != 1 || !strings.Contains(errOut, "max_reidentifications_per_day") {
		t.Fatalf("env config loosening the re-identification limit: exit %d %s", code, errOut)
	}
	delete(c.env, "HDW_CONFIG")
	// A version edited by hand is refused by every command, with an alert.
	v1 := filepath.Join(c.env["HDW_WAREHOUSE"], "policy", "v000001.json")
	b, err := os.ReadFile(v1)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(v1, 0o600)
	os.WriteFile(v1, []byte(strings.Replace(string(b), `"k": 7`, `"k": 2`, 1)), 0o600)
	code, _, errOut = c.run("--profile", "curator", "export", "request", "p1", "--approval", "CSE-1", "--sensitive", "diagnosis", "--k", "2")
	if code != 1 || !strings.Contains(errOut, "ALERT") || !strings.Contains(errOut, "policy") {
		t.Fatalf("edited policy: exit %d %s", code, errOut)
	}
	if code, _, _ := c.run("--profile", "admin", "policy", "show"); code != 1 {
		t.Fatal("policy show accepted an edited policy")
	}
	audit := string(auditPlain(t, c))
	for _, a := range []string{"policy.set", "policy.loosen", "policy.tampered"} {
		if !strings.Contains(audit, a) {
			t.Errorf("%s not audited", a)
		}
	}
}
