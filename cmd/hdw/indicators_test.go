package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/synth"
)

// TestSEC_EXP_5_IndicatorsWorkflow: a definition that fails the automatic
// check is refused with an alert; a definition runs only once an approver
// who is not its author approved it; a run writes its typed table, its
// noise parameters and the G29 report; the privacy budget, which no flag
// sets, refuses the run that would exceed it, with an audit event
// (SEC-EXP-4).
func TestSEC_EXP_5_IndicatorsWorkflow(t *testing.T) {
	up := synth.NewUpload(synth.UploadSpec{Seed: 25, Patients: 60, DICOMPerPatient: 1})
	c := ingested(t, up, 0)
	def := func(name, body string) string {
		p := filepath.Join(c.dir, name+".json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := def("bad", `{"name": "by-name", "measure": "count", "group_by": ["last_name"]}`)
	if code, _, errOut := c.run("--profile", "curator", "indicators", "define", bad); code != 2 || !strings.Contains(errOut, "ALERT") || !strings.Contains(errOut, "identifying") {
		t.Fatalf("identifying grouping: exit %d %s", code, errOut)
	}
	good := def("all", `{"name": "all-records", "measure": "count", "epsilon": 1}`)
	c.must(0, "--profile", "curator", "indicators", "define", good)
	out := filepath.Join(c.dir, "out")
	if code, _, errOut := c.run("--profile", "curator", "indicators", "run", "all-records", "--out", out); code != 1 || !strings.Contains(errOut, "approved") {
		t.Fatalf("run before approval: exit %d %s", code, errOut)
	}
	if code, _, _ := c.run("--profile", "curator", "indicators", "approve", "all-records"); code == 0 {
		t.Fatal("the curator approved an indicator")
	}
	c.must(0, "--profile", "approver", "indicators", "approve", "all-records")
	res := c.must(0, "--profile", "curator", "--json", "indicators", "run", "all-records", "--out", out)
	var r struct {
		Result struct {
			Values []struct {
				Value   float64  `json:"value"`
				CILower *float64 `json:"ci_lower"`
			} `json:"values"`
			Params struct {
				Epsilon float64 `json:"epsilon"`
			} `json:"noise_parameters"`
			G29 map[string]string `json:"g29"`
		} `json:"result"`
		Files []string `json:"files"`
	}
	decodeJSON(t, res, &r)
	if len(r.Result.Values) != 1 || r.Result.Values[0].CILower == nil || r.Result.Params.Epsilon != 1 || len(r.Files) != 3 {
		t.Fatalf("run result: %s", res)
	}
	for _, k := range []string{"singling_out", "linkability", "inference"} {
		if r.Result.G29[k] == "" {
			t.Errorf("G29 %s not reported", k)
		}
	}
	for _, f := range r.Files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		assertNoLeak(t, f, b, secrets(up))
		if strings.Contains(string(b), "pseudonym\"") {
			t.Fatalf("%s names pseudonyms", f)
		}
	}
	// Over a workspace: its records and its own pseudonyms.
	c.must(0, "--profile", "curator", "workspace", "create", "ind1", "--approval", "CSE-25", "--columns", "diagnosis,sex_code")
	res = c.must(0, "--profile", "curator", "--json", "indicators", "run", "all-records", "--workspace", "ind1")
	decodeJSON(t, res, &r)
	if len(r.Result.Values) != 1 || r.Result.Values[0].Value < 30 {
		t.Fatalf("workspace run: %s", res)
	}
	// The default budget (epsilon 2 a month) is spent: the next run is
	// refused and audited; no flag or environment variable raises it.
	code, _, errOut := c.run("--profile", "curator", "indicators", "run", "all-records")
	if code != 1 || !strings.Contains(errOut, "budget") {
		t.Fatalf("run over the budget: exit %d %s", code, errOut)
	}
	trail := string(readPrefix(t, c, "audit/"))
	for _, a := range []string{"indicators.define", "indicators.approve", "indicators.spend", "privacy budget exhausted", `"outcome":"alert"`} {
		if !strings.Contains(trail, a) {
			t.Errorf("audit trail lacks %s", a)
		}
	}
	if out := c.must(0, "--profile", "admin", "audit", "verify"); !strings.Contains(out, "ok") {
		t.Fatal(out)
	}
	// The newest ledger entry removed (to spend again): the ledger's chain
	// cannot show it, the audit trail does.
	c.must(0, "--profile", "admin", "indicators", "verify")
	ledger, _ := filepath.Glob(filepath.Join(c.env["HDW_WAREHOUSE"], "indicators", "budget", "*", "*", "00000002.json"))
	if len(ledger) != 1 {
		t.Fatalf("ledger entries: %v", ledger)
	}
	os.Chmod(filepath.Dir(ledger[0]), 0o700)
	if err := os.Remove(ledger[0]); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := c.run("--profile", "admin", "indicators", "verify"); code != 1 || !strings.Contains(errOut, "entry 2 of run") {
		t.Fatalf("removed ledger entry: exit %d %s", code, errOut)
	}
}

// TestSEC_EXP_5_IndicatorSignedByOperators: with enrolled operators, the
// definition carries its author's signature and the approval the
// manager's, each with their own key (ENS OP.ACC.1).
func TestSEC_EXP_5_IndicatorSignedByOperators(t *testing.T) {
	c := newCLI(t)
	c.must(0, "init")
	c.must(0, "--profile", "admin", "operator", "add", "alice", "--role", "curator", "--decision", "CSE-T-1")
	c.must(0, "--profile", "admin", "operator", "add", "bob", "--role", "approver", "--decision", "CSE-T-1")
	p := filepath.Join(c.dir, "d.json")
	os.WriteFile(p, []byte(`{"name": "signed", "measure": "count"}`), 0o600)
	c.env["HDW_OPERATOR"] = "alice"
	c.must(0, "--profile", "curator", "indicators", "define", p)
	c.env["HDW_OPERATOR"] = "bob"
	c.must(0, "--profile", "approver", "indicators", "approve", "signed")
	c.env["HDW_OPERATOR"] = "alice"
	c.must(0, "--profile", "curator", "indicators", "run", "signed")
	for _, f := range []string{"definition.json", "approval.json"} {
		m, _ := filepath.Glob(filepath.Join(c.env["HDW_WAREHOUSE"], "indicators", "definitions", "signed", "*", f))
		if len(m) != 1 {
			t.Fatalf("%s: %v", f, m)
		}
		b, _ := os.ReadFile(m[0])
		if !strings.Contains(string(b), `"sig":`) || !strings.Contains(string(b), "LH-USR-") {
			t.Fatalf("%s not signed by an operator: %s", f, b)
		}
	}
}

// TestSEC_EXP_4_BudgetFromSealedPolicy: the privacy budget is the sealed
// policy's (set by the admin, never by the consumer): with indicators
// epsilon 1 a month, one run of epsilon 1 is allowed and the next refused;
// the curator cannot seal a looser one.
func TestSEC_EXP_4_BudgetFromSealedPolicy(t *testing.T) {
	c := ingested(t, synth.NewUpload(synth.UploadSpec{Seed: 26, Patients: 40, DICOMPerPatient: 1}), 0)
	pf := filepath.Join(c.dir, "policy.yaml")
	os.WriteFile(pf, []byte("indicators: {epsilon: 1, delta: 0.00001, period: month}\n"), 0o600)
	c.must(0, "--profile", "admin", "policy", "set", pf)
	loose := filepath.Join(c.dir, "loose.yaml")
	os.WriteFile(loose, []byte("indicators: {epsilon: 10, delta: 0.00001, period: month}\n"), 0o600)
	if code, _, _ := c.run("--profile", "curator", "policy", "set", loose); code == 0 {
		t.Fatal("the curator sealed a policy")
	}
	def := filepath.Join(c.dir, "all.json")
	os.WriteFile(def, []byte(`{"name": "all-records", "measure": "count", "epsilon": 1}`), 0o600)
	c.must(0, "--profile", "curator", "indicators", "define", def)
	c.must(0, "--profile", "approver", "indicators", "approve", "all-records")
	c.must(0, "--profile", "curator", "indicators", "run", "all-records")
	if code, _, errOut := c.run("--profile", "curator", "indicators", "run", "all-records"); code != 1 || !strings.Contains(errOut, "budget") {
		t.Fatalf("second run over the sealed budget of epsilon 1: exit %d %s", code, errOut)
	}
}
