package main

import (
	"path/filepath"
	"strings"
	"testing"

	"hdw/keys"
	"hdw/rights"
)

// TestSEC_PSE_1_KeysRotatePseudoCLI: the three runs of `hdw keys rotate
// pseudo` (admin, dpo, curator) on the embedded keyring, then the admin
// retires version 1 (refused before every store is at version 2); rights
// find recomputes the rotated pseudonym from the identity and finds the
// same records.
func TestSEC_PSE_1_KeysRotatePseudoCLI(t *testing.T) {
	c := newCLI(t)
	c.must(0, "init")
	rotatePseudoCLI(t, c)
}

// TestSEC_PSE_1_KeysRotatePseudoVault is the same against the real Vault
// server, each profile logged in with its own AppRole: the admin's new KV
// version and its retirement go through admin.hcl.
func TestSEC_PSE_1_KeysRotatePseudoVault(t *testing.T) {
	c, _, _ := vaultCLI(t, "r")
	rotatePseudoCLI(t, c)
}

func rotatePseudoCLI(t *testing.T, c *cli) {
	t.Helper()
	up := demoUpload()
	src := filepath.Join(c.dir, "upload")
	writeUpload(t, src, up)
	c.must(3, "--profile", "ingest", "ingest", src)
	nir := up.Persons[0].NIR
	dpo := []string{"--profile", "dpo", "--json"}
	var before rights.Location
	decodeJSON(t, c.must(0, append(dpo, "rights", "find", "--request", "DPO-2026-010", "--nir", nir)...), &before)
	mark := c.out.Len()

	if out := c.must(0, "--profile", "admin", "keys", "rotate", "pseudo"); !strings.Contains(out, "version 2") {
		t.Fatalf("admin: %s", out)
	}
	if out := c.must(0, "--profile", "dpo", "keys", "rotate", "pseudo"); !strings.Contains(out, "left for the curator") {
		t.Fatalf("dpo: %s", out)
	}
	if _, out, _ := c.run("--profile", "admin", "keys", "rotate", "pseudo", "--min-version", "2"); !strings.Contains(out+c.out.String(), "not at version 2") {
		t.Fatal("retiring before the genetic store is rotated must be refused")
	}
	c.must(0, "--profile", "curator", "keys", "rotate", "pseudo")
	c.must(0, "--profile", "admin", "keys", "rotate", "pseudo", "--min-version", "2")
	_, prov := c.openAs(keys.ProfileAdmin)
	if _, min, err := prov.(keys.Versions).KeyVersions(t.Context(), keys.PseudoWarehouse); err != nil || min != 2 {
		t.Fatalf("version 1 not retired: %d %v", min, err)
	}

	var after rights.Location
	decodeJSON(t, c.must(0, append(dpo, "rights", "find", "--request", "DPO-2026-011", "--nir", nir)...), &after)
	if !after.Found || after.Records != before.Records || after.Images != before.Images || after.Pseudonyms[0] == before.Pseudonyms[0] {
		t.Fatalf("after rotation: %+v, before %+v", after, before)
	}
	c.must(0, "--profile", "admin", "audit", "verify")
	if strings.Contains(c.out.String()[mark:], before.Pseudonyms[0]) {
		t.Fatal("an output of the rotation names the old pseudonym")
	}
}
