package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/keys"
)

// TestENS_OP_ACC_1_SWR_009_OperatorCLI: the admin enrols two curators,
// they are two operator ids in the audit trail; no other profile enrols
// (SWR-009); an operator acts only under the profile they were enrolled
// for; a wrong passphrase and a removed operator are refused.
func TestENS_OP_ACC_1_SWR_009_OperatorCLI(t *testing.T) {
	c := newCLI(t)
	c.must(0, "init")
	if code, _, errOut := c.run("--profile", "curator", "operator", "add", "eve", "--role", "admin"); code != 1 || !strings.Contains(errOut, "admin") {
		t.Fatalf("SWR-009: a curator enrols an operator: exit %d %s", code, errOut)
	}
	c.must(2, "--profile", "admin", "operator", "add", "alice")
	var alice, bob keys.Operator
	json.Unmarshal([]byte(c.must(0, "--profile", "admin", "--json", "operator", "add", "alice", "--role", "curator", "--decision", "CSE-T-1")), &alice)
	json.Unmarshal([]byte(c.must(0, "--profile", "admin", "--json", "operator", "add", "bob", "--role", "curator", "--decision", "CSE-T-1")), &bob)
	if alice.ID == "" || alice.ID == bob.ID || !strings.HasPrefix(alice.ID, "LH-USR-") {
		t.Fatalf("two curators: %+v %+v", alice, bob)
	}
	if fi, err := os.Stat(filepath.Join(c.env["HDW_CREDENTIALS"], "operator_alice")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("alice's passphrase file: %v", err)
	}
	for _, who := range []string{"alice", "bob"} {
		c.env["HDW_OPERATOR"] = who
		c.must(0, "--profile", "curator", "audit", "verify")
	}
	c.env["HDW_OPERATOR"] = "alice"
	if code, _, errOut := c.run("--profile", "dpo", "audit", "verify"); code != 1 || !strings.Contains(errOut, "enrolled as curator") {
		t.Fatalf("alice acts as dpo: exit %d %s", code, errOut)
	}
	c.env["HDW_OPERATOR_PASSPHRASE"] = "not alice's passphrase"
	if code, _, errOut := c.run("--profile", "curator", "audit", "verify"); code != 1 || !strings.Contains(errOut, "credentials refused") {
		t.Fatalf("wrong operator passphrase: exit %d %s", code, errOut)
	}
	delete(c.env, "HDW_OPERATOR_PASSPHRASE")
	delete(c.env, "HDW_OPERATOR")
	c.must(0, "--profile", "admin", "operator", "remove", "bob")
	c.env["HDW_OPERATOR"] = "bob"
	c.must(1, "--profile", "curator", "audit", "verify")
	delete(c.env, "HDW_OPERATOR")
	var ops []keys.Operator
	json.Unmarshal([]byte(c.must(0, "--profile", "admin", "--json", "operator", "list")), &ops)
	if len(ops) != 2 {
		t.Fatalf("operator list: %+v", ops)
	}
	trail := string(auditPlain(t, c))
	for _, id := range []string{alice.ID, bob.ID} {
		if !strings.Contains(trail, `"operator":"`+id+`"`) {
			t.Errorf("the trail lacks operator %s", id)
		}
	}
}
