package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"hdw/keys"
	"hdw/policy"
)

// sealPolicyFile seals p with k into the warehouse as policy/seal.json and
// policy/v000001.json, after removing policy/: what anyone who writes the
// warehouse can do with a key of their own.
func forgePolicy(t *testing.T, c *cli, loose policy.Policy) {
	t.Helper()
	dir := filepath.Join(c.env["HDW_WAREHOUSE"], "policy")
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o700)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s := sealSigner{priv: priv}
	rec, err := policy.Seal(context.Background(), s, nil, loose, "LH-SVC-forger", time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(sealAnchor{Public: s.PublicKey(), KeyID: policy.KeyID(s.PublicKey())})
	r, _ := json.Marshal(rec)
	os.WriteFile(filepath.Join(dir, "seal.json"), a, 0o600)
	os.WriteFile(filepath.Join(dir, "v000001.json"), r, 0o600)
}

func looseK2() policy.Policy {
	p := policy.Default()
	p.Export.K = 2
	return p
}

// sealK7 seals a policy with k=7 as the admin.
func sealK7(c *cli) {
	pf := filepath.Join(c.dir, "policy.yaml")
	os.WriteFile(pf, []byte("export: {k: 7, l: 2}\n"), 0o600)
	c.must(0, "--profile", "admin", "policy", "set", pf)
}

// requestK runs an export request at k as the curator.
func requestK(c *cli, k int) (int, string) {
	code, _, errOut := c.run("--profile", "curator", "export", "request", "p1", "--approval", "CSE-1", "--sensitive", "diagnosis", "--k", fmt.Sprint(k))
	return code, errOut
}

// TestSEC_EXP_1_PolicyAnchorHeld (issue 21): the sealed policy verifies
// against the anchor in each profile's passphrase-sealed keyring entry,
// not against the warehouse's policy/seal.json: a warehouse writer who
// replaces policy/ with their own anchor and a looser policy signed by
// their own key is refused with an audit alert. Deleting policy/ on a
// local keyring falls back to the built-in default (the keyring cannot
// record the count of sealed versions: README), never below it.
func TestSEC_EXP_1_PolicyAnchorHeld(t *testing.T) {
	c := newCLI(t)
	c.must(0, "init")
	sealK7(c)
	forgePolicy(t, c, looseK2())
	code, errOut := requestK(c, 2)
	if code != 1 || !strings.Contains(errOut, "policy does not verify") || !strings.Contains(errOut, "seal") {
		t.Fatalf("forged anchor and policy: exit %d %s", code, errOut)
	}
	if code, _, _ := c.run("--profile", "admin", "policy", "show"); code != 1 {
		t.Fatal("policy show accepted a forged policy")
	}
	if !strings.Contains(string(auditPlain(t, c)), "policy.tampered") {
		t.Error("forged policy not audited")
	}
	os.RemoveAll(filepath.Join(c.env["HDW_WAREHOUSE"], "policy"))
	if code, errOut := requestK(c, 2); code != 1 || !strings.Contains(errOut, "looser") {
		t.Fatalf("policy/ deleted: k=2 below the built-in default: exit %d %s", code, errOut)
	}
}

// unanchor rewrites every profile entry of the latest keyring as a keyring
// older than the policy anchor sealed it (private key alone, old
// associated data), with the passphrases hdw init wrote.
func unanchor(t *testing.T, c *cli) {
	t.Helper()
	dir := filepath.Join(c.env["HDW_WAREHOUSE"], "keyring")
	names, _ := filepath.Glob(filepath.Join(dir, "v*.json"))
	sort.Strings(names)
	b, err := os.ReadFile(names[len(names)-1])
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]json.RawMessage
	json.Unmarshal(b, &r)
	var profiles map[string]map[string]any
	json.Unmarshal(r["profiles"], &profiles)
	gcm := func(key []byte) cipher.AEAD {
		blk, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCM(blk)
		return g
	}
	for p, e := range profiles {
		var salt, ct []byte
		sb, _ := json.Marshal(e["salt"])
		json.Unmarshal(sb, &salt)
		cb, _ := json.Marshal(e["sealed_private"])
		json.Unmarshal(cb, &ct)
		pass, err := keys.ReadSecretFile(filepath.Join(c.env["HDW_CREDENTIALS"], profileFile(p)))
		if err != nil {
			t.Fatal(err)
		}
		kek := argon2.IDKey(pass, salt, uint32(e["t"].(float64)), uint32(e["m"].(float64)), uint8(e["p"].(float64)), 32)
		g := gcm(kek)
		pt, err := g.Open(nil, ct[:12], ct[12:], []byte("hdw keyring v1 profile "+p+" policy-anchor"))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		nonce := make([]byte, 12)
		rand.Read(nonce)
		e["sealed_private"] = g.Seal(nonce, nonce, pt[:32], []byte("hdw keyring v1 profile "+p))
	}
	r["profiles"], _ = json.Marshal(profiles)
	var v int
	json.Unmarshal(r["version"], &v)
	r["version"], _ = json.Marshal(v + 1)
	out, _ := json.Marshal(r)
	os.WriteFile(filepath.Join(dir, fmt.Sprintf("v%06d.json", v+1)), out, 0o600)
}

// TestSEC_EXP_1_PolicyAnchorOldKeyring (issue 21): a keyring older than
// the anchor keeps working on policy/seal.json (sealed, verified, only
// tightened); the admin's policy set anchors the admin's own entry, so
// that from then on a replaced policy/ is refused to the admin too.
func TestSEC_EXP_1_PolicyAnchorOldKeyring(t *testing.T) {
	c := newCLI(t)
	c.must(0, "init")
	unanchor(t, c)
	_, prov := c.openAs(keys.ProfileAdmin)
	if _, err := prov.(keys.PolicyAnchors).PolicyAnchor(context.Background()); err == nil {
		t.Fatal("the rewritten keyring still holds an anchor")
	}
	prov.Close()
	sealK7(c)
	if code, errOut := requestK(c, 5); code != 1 || !strings.Contains(errOut, "looser") {
		t.Fatalf("old keyring: sealed k=7 not in force: exit %d %s", code, errOut)
	}
	_, prov = c.openAs(keys.ProfileAdmin)
	if _, err := prov.(keys.PolicyAnchors).PolicyAnchor(context.Background()); err != nil {
		t.Fatalf("policy set did not anchor the admin's entry: %v", err)
	}
	prov.Close()
	forgePolicy(t, c, looseK2())
	if code, _, errOut := c.run("--profile", "admin", "policy", "show"); code != 1 || !strings.Contains(errOut, "policy does not verify") {
		t.Fatalf("admin shown a forged policy: exit %d %s", code, errOut)
	}
}

// TestSEC_EXP_1_VaultPolicyAnchorHeld (issue 21): on Vault the anchor is
// the admin-only KV entry with the count of sealed versions: a replaced
// policy/ is refused with an alert, and so is a deleted one (fewer
// versions than the admin sealed), instead of the built-in default.
func TestSEC_EXP_1_VaultPolicyAnchorHeld(t *testing.T) {
	c, _, _ := vaultCLI(t, "p")
	sealK7(c)
	forgePolicy(t, c, looseK2())
	if code, errOut := requestK(c, 2); code != 1 || !strings.Contains(errOut, "policy does not verify") {
		t.Fatalf("vault: forged anchor and policy: exit %d %s", code, errOut)
	}
	os.RemoveAll(filepath.Join(c.env["HDW_WAREHOUSE"], "policy"))
	if code, errOut := requestK(c, 6); code != 1 || !strings.Contains(errOut, "policy does not verify") || !strings.Contains(errOut, "deleted") {
		t.Fatalf("vault: policy/ deleted: exit %d %s", code, errOut)
	}
	audit := c.must(0, "--profile", "dpo", "audit", "review", "--since", "2020-01-01")
	if strings.Count(audit, "policy.tampered") < 2 {
		t.Errorf("vault: tampering not audited twice:\n%s", audit)
	}
}
