package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hv "hdw/keys/vault"
	"hdw/synth"
)

// vaultCLI sets up Vault for a new warehouse (the administrator's token:
// policies, AppRoles) and creates it; from then on each profile logs in
// with its own AppRole.
func vaultCLI(t *testing.T, prefix string) (c *cli, addr, rootTok string) {
	t.Helper()
	addr, rootTok = vaultEnv(t)
	c = newCLI(t)
	name := fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e9)
	cfg := filepath.Join(c.dir, "hdw.yaml")
	os.WriteFile(cfg, []byte("keys:\n  provider: vault\n  vault:\n    address: "+addr+"\n    warehouse_name: "+name+"\n"), 0o600)
	c.env["HDW_CONFIG"] = cfg
	c.env["HDW_TEST_VAULT_WAREHOUSE"] = name // userpass logins are per Vault server: NAME.<warehouse> in tests
	c.env["HDW_VAULT_TOKEN_FILE"] = rootTok
	c.must(0, "--profile", "admin", "vault", "setup")
	delete(c.env, "HDW_VAULT_TOKEN_FILE")
	c.must(0, "init")
	return c, addr, rootTok
}

// vaultLogin logs in as the enrolled person would (vault login
// -method=userpass) with the password the admin handed over, and returns
// the token.
func vaultLogin(t *testing.T, c *cli, addr, name string) string {
	t.Helper()
	pass, err := os.ReadFile(filepath.Join(c.env["HDW_CREDENTIALS"], "operator_"+name))
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := hv.NewClient(hv.Config{Address: addr})
	s, err := vc.Logical().WriteWithContext(context.Background(), "auth/userpass/login/"+name+"."+c.env["HDW_TEST_VAULT_WAREHOUSE"], map[string]any{"password": strings.TrimSpace(string(pass))})
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return s.Auth.ClientToken
}

// vaultWarehouse sets up Vault (the administrator's token), creates the
// warehouse and ingests up through the ingest AppRole (exit code want).
func vaultWarehouse(t *testing.T, up *synth.Upload, want int) (c *cli, addr, rootTok string) {
	t.Helper()
	c, addr, rootTok = vaultCLI(t, "o")
	src := filepath.Join(c.dir, "upload")
	writeUpload(t, src, up)
	c.must(want, "--profile", "ingest", "ingest", src)
	return c, addr, rootTok
}

// vaultEnrol enrols name/role pairs with the Vault administrator's token
// and returns their operator ids.
func vaultEnrol(t *testing.T, c *cli, rootTok string, ops [][2]string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	c.env["HDW_VAULT_TOKEN_FILE"] = rootTok
	defer delete(c.env, "HDW_VAULT_TOKEN_FILE")
	for _, o := range ops {
		out := c.must(0, "--profile", "admin", "--json", "operator", "add", o[0], "--role", o[1], "--decision", "CSE-T-1",
			"--vault-login", "userpass:"+o[0]+"."+c.env["HDW_TEST_VAULT_WAREHOUSE"])
		var op struct{ ID string }
		decodeJSON(t, out, &op)
		ids[o[0]] = op.ID
	}
	return ids
}

// TestSEC_EXP_2_ENS_OP_ACC_1_VaultOperators: with Vault, the admin (with
// the Vault administrator's token) enrols two curators and an approver;
// each logs in with their own Vault login. Export records and audit
// events carry the person's transit signature: the curators' AppRole (a
// service) cannot request once operators exist, a curator cannot approve,
// the approver's signed approval (four eyes by operator id) lets the
// requester fetch, an unsigned entry is refused with an alert, audit
// verify checks every signature, the two curators are two ids in the
// trail, and a removed operator's token no longer works (SEC-HAB-6).
func TestSEC_EXP_2_ENS_OP_ACC_1_VaultOperators(t *testing.T) {
	c, addr, rootTok := vaultWarehouse(t, synth.NewUpload(synth.UploadSpec{Seed: 12, Patients: 30, DICOMPerPatient: 1}), 0)
	// The admin's AppRole cannot enrol: policies and identities are the
	// Vault administrator's.
	if code, _, errOut := c.run("--profile", "admin", "operator", "add", "zed", "--role", "curator", "--decision", "CSE-T-1"); code == 0 || !strings.Contains(errOut, "Vault administrator") {
		t.Fatalf("admin AppRole enrolled: %d %s", code, errOut)
	}
	ids := vaultEnrol(t, c, rootTok, [][2]string{{"alice", "curator"}, {"carol", "curator"}, {"bob", "approver"}})
	as := func(who string, args ...string) (int, string, string) {
		c.env["VAULT_TOKEN"] = vaultLogin(t, c, addr, who)
		defer delete(c.env, "VAULT_TOKEN")
		return c.run(args...)
	}
	req := []string{"--profile", "curator", "--json", "export", "request", "s1", "--approval", "CSE-1", "--sensitive", "diagnosis",
		"--rules", "birth_year:drop,department:drop,visit_date:drop"}
	if code, _, errOut := c.run(req...); code != 1 || !strings.Contains(errOut, "enrolled operator") {
		t.Fatalf("the curator's AppRole requested once operators are enrolled: %d %s", code, errOut)
	}
	code, out, errOut := as("alice", req...)
	if code != 0 {
		t.Fatalf("alice's request: %d %s", code, errOut)
	}
	var res struct{ ID string }
	decodeJSON(t, out, &res)
	hist := filepath.Join(c.env["HDW_WAREHOUSE"], "exports", res.ID, "history")
	var first map[string]any
	b, _ := os.ReadFile(filepath.Join(hist, "000001.json"))
	json.Unmarshal(b, &first)
	if first["operator"] != ids["alice"] || first["sig"] == nil || first["sig"] == "" {
		t.Fatalf("the request is not alice's signed entry: %s", b)
	}
	if code, _, errOut := as("carol", "--profile", "approver", "export", "approve", res.ID); code == 0 {
		t.Fatalf("a curator approved under the approver profile: %s", errOut)
	}
	if code, out, errOut := as("bob", "--profile", "approver", "--json", "export", "approve", res.ID); code != 0 || !strings.Contains(out, "approved") {
		t.Fatalf("bob's approval: %d %s %s", code, out, errOut)
	}
	out = c.must(0, "--profile", "approver", "--json", "export", "show", res.ID)
	if !strings.Contains(out, `"signatures_verified": true`) || !strings.Contains(out, ids["bob"]) {
		t.Fatalf("show: %s", out)
	}
	forged := `{"seq":3,"kind":"release","export":"` + res.ID + `","content_hash":"x","operator":"` + ids["carol"] + `","role":"curator","time":"2026-12-06T00:00:00Z"}`
	os.WriteFile(filepath.Join(hist, "000003.json"), []byte(forged), 0o600)
	if code, _, errOut := as("alice", "--profile", "curator", "export", "fetch", res.ID, "--out", filepath.Join(c.dir, "o1")); code != 1 || !strings.Contains(errOut, "ALERT") {
		t.Fatalf("fetch of a forged history: %d %s", code, errOut)
	}
	// A foreign entry: bob's approval re-attributed to carol, his
	// transit signature kept.
	var appr map[string]any
	b, _ = os.ReadFile(filepath.Join(hist, "000002.json"))
	json.Unmarshal(b, &appr)
	appr["operator"] = ids["carol"]
	b, _ = json.Marshal(appr)
	os.WriteFile(filepath.Join(hist, "000002.json"), b, 0o600)
	os.Remove(filepath.Join(hist, "000003.json"))
	if code, _, errOut := as("alice", "--profile", "curator", "export", "fetch", res.ID, "--out", filepath.Join(c.dir, "o1")); code != 1 || !strings.Contains(errOut, "ALERT") {
		t.Fatalf("fetch of a re-attributed approval: %d %s", code, errOut)
	}
	appr["operator"] = ids["bob"]
	b, _ = json.Marshal(appr)
	os.WriteFile(filepath.Join(hist, "000002.json"), b, 0o600)
	if code, _, errOut := as("alice", "--profile", "curator", "export", "fetch", res.ID, "--out", filepath.Join(c.dir, "o2")); code != 0 {
		t.Fatalf("alice's fetch: %d %s", code, errOut)
	}
	if code, _, errOut := as("carol", "--profile", "curator", "export", "list"); code != 0 {
		t.Fatalf("carol: %d %s", code, errOut)
	}
	trail := string(readPrefix(t, c, "audit/segments/"))
	if !strings.Contains(trail, ids["alice"]) || !strings.Contains(trail, ids["carol"]) || ids["alice"] == ids["carol"] {
		t.Fatal("two curators must be two operator ids in the trail")
	}
	if out := c.must(0, "--profile", "admin", "audit", "verify"); !strings.Contains(out, "OK") && !strings.Contains(strings.ToLower(out), "ok") {
		t.Fatalf("audit verify: %s", out)
	}
	// Removal: carol's token (issued before) and a new login both fail.
	tok := vaultLogin(t, c, addr, "carol")
	c.env["HDW_VAULT_TOKEN_FILE"] = rootTok
	c.must(0, "--profile", "admin", "operator", "remove", "carol")
	delete(c.env, "HDW_VAULT_TOKEN_FILE")
	c.env["VAULT_TOKEN"] = tok
	if code, _, _ := c.run("--profile", "curator", "export", "list"); code == 0 {
		t.Fatal("a removed operator's token still works")
	}
	delete(c.env, "VAULT_TOKEN")
	out = c.must(0, "--profile", "admin", "operator", "list")
	if !strings.Contains(out, ids["carol"]) || !strings.Contains(out, "removed") || !strings.Contains(out, ids["alice"]) {
		t.Fatalf("operator list: %s", out)
	}
	if out := c.must(0, "--profile", "dpo", "operator", "review"); !strings.Contains(out, "carol") || !strings.Contains(out, "removed") {
		t.Fatalf("operator review on Vault: %s", out)
	}
	c.must(0, "--profile", "admin", "audit", "verify") // carol's past signatures still verify
}

// TestIssue22_SEC_LOG_6_VaultGeneticExtract: the genetic extract flow with
// Vault, two people each logged in with their own Vault login: the DPO's
// access asks (the dpo policy cannot decrypt the genetic store), the
// curator prepares the extract with their transit signature, the DPO's
// access verifies it and delivers genetic.csv.
func TestIssue22_SEC_LOG_6_VaultGeneticExtract(t *testing.T) {
	up := demoUpload()
	c, addr, rootTok := vaultWarehouse(t, up, 3)
	ids := vaultEnrol(t, c, rootTok, [][2]string{{"dora", "dpo"}, {"cora", "curator"}})
	as := func(who string, args ...string) (int, string, string) {
		c.env["VAULT_TOKEN"] = vaultLogin(t, c, addr, who)
		defer delete(c.env, "VAULT_TOKEN")
		return c.run(args...)
	}
	pkg := filepath.Join(c.dir, "pkg")
	access := []string{"--profile", "dpo", "--json", "rights", "access", "--request", "DPO-V-1", "--nir", up.Persons[0].NIR, "--out", pkg}
	if code, _, errOut := as("dora", access...); code != 1 || !strings.Contains(errOut, "genetic-extract") {
		t.Fatalf("first access: %d %s", code, errOut)
	}
	code, out, errOut := as("cora", "--profile", "curator", "--json", "rights", "genetic-extract", "--request", "DPO-V-1")
	if code != 0 || !strings.Contains(out, ids["cora"]) {
		t.Fatalf("cora's extract: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := as("dora", access...); code != 0 {
		t.Fatalf("second access: %d %s", code, errOut)
	}
	if g, err := os.ReadFile(filepath.Join(pkg, "genetic.csv")); err != nil || !strings.Contains(string(g), "BRCA2") {
		t.Fatalf("package: %v", err)
	}
	c.must(0, "--profile", "admin", "audit", "verify")
}
