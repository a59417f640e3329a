package vault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	hv "hdw/keys/vault"
	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/warehouse"
	"hdw/workspaces"
)

// TestSEC_LOG_5_AdminCannotDestroy: the admin (key custodian) creates,
// rotates, retires versions and rewraps, but its policy has no delete: it
// gets 403 destroying the identity, health and genetic store keys, the
// warehouse pseudonym key and even a workspace key, and the keys still work
// afterwards. Only the curator destroys keys, by revoking a workspace
// (workspaces.Revoke, SEC-HAB-6): its transit and pseudonym keys are gone.
func TestSEC_LOG_5_AdminCannotDestroy(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	admin := e.login(t, keys.ProfileAdmin)
	all := []string{keys.Health, keys.Identity, keys.Genetic, keys.PseudoWarehouse, keys.PseudoProfessional, keys.PseudoOpposition, keys.Audit}
	create(t, admin, all...)
	ing, dpo, cur := e.login(t, keys.ProfileIngest), e.login(t, keys.ProfileDPO), e.login(t, keys.ProfileCurator)
	wrapped := map[string]keys.DataKey{}
	for _, s := range []string{keys.Health, keys.Identity, keys.Genetic} {
		dk, err := ing.NewDataKeys(ctx, s, 1)
		if err != nil {
			t.Fatalf("ingest wraps %s: %v", s, err)
		}
		wrapped[s] = dk[0]
	}
	pw, err := ing.PseudonymKey(ctx, keys.PseudoWarehouse)
	if err != nil {
		t.Fatal(err)
	}
	const project = "revoked"
	create(t, cur, keys.Workspace(project), keys.PseudoWorkspace(project))

	// Destroy refused, even after root allowed deletion of the identity key:
	// the policy itself has no delete.
	if _, err := e.root.Logical().WriteWithContext(ctx, "transit/keys/"+hv.TransitName(e.warehouse, keys.Identity)+"/config",
		map[string]any{"deletion_allowed": true}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{keys.Identity, keys.Health, keys.Genetic, keys.PseudoWarehouse,
		keys.Audit, keys.Workspace(project), keys.PseudoWorkspace(project)} {
		if err := admin.DestroyKey(ctx, n); !errors.Is(err, keys.ErrForbidden) {
			t.Errorf("admin destroys %s: got %v, want 403 (keys.ErrForbidden)", n, err)
		}
	}
	if _, err := hv.Client(admin).Logical().DeleteWithContext(ctx, "transit/keys/"+hv.TransitName(e.warehouse, keys.Identity)); err == nil {
		t.Error("admin deletes the identity transit key directly")
	}
	// Nor may it mark a store key deletable, exportable or trim it.
	for _, body := range []map[string]any{{"deletion_allowed": true}, {"exportable": true}, {"allow_plaintext_backup": true}} {
		if _, err := hv.Client(admin).Logical().WriteWithContext(ctx, "transit/keys/"+hv.TransitName(e.warehouse, keys.Health)+"/config", body); err == nil {
			t.Errorf("admin sets %v on the health key", body)
		}
	}
	if _, err := hv.Client(admin).Logical().WriteWithContext(ctx, "transit/keys/"+hv.TransitName(e.warehouse, keys.Genetic)+"/trim",
		map[string]any{"min_available_version": 1}); err == nil {
		t.Error("admin trims the genetic key")
	}

	// The keys survive.
	for s, dk := range wrapped {
		reader := dpo
		if s == keys.Genetic {
			reader = cur // SEC-LOG-6
		}
		got, err := reader.Unwrap(ctx, s, [][]byte{dk.Wrapped})
		if err != nil || !bytes.Equal(got[0].Bytes(), dk.Key.Bytes()) {
			t.Errorf("%s after admin's destroy: %v", s, err)
		}
	}
	ing2 := e.login(t, keys.ProfileIngest)
	if got, err := ing2.PseudonymKey(ctx, keys.PseudoWarehouse); err != nil || !bytes.Equal(got.Bytes(), pw.Bytes()) {
		t.Errorf("warehouse pseudonym key after admin's destroy: %v", err)
	}

	// Everything else the admin does still works.
	for _, s := range []string{keys.Health, keys.Identity, keys.Genetic, keys.Workspace(project)} {
		v, err := admin.RotateKey(ctx, s)
		if err != nil || v != 2 {
			t.Fatalf("admin rotates %s: version %d, %v", s, v, err)
		}
		if s == keys.Workspace(project) {
			continue
		}
		re, err := admin.Rewrap(ctx, s, [][]byte{wrapped[s].Wrapped})
		if err != nil || !bytes.HasPrefix(re[0], []byte("vault:v2:")) {
			t.Fatalf("admin rewraps %s: %v", s, err)
		}
		if err := admin.RetireVersions(ctx, s, 2); err != nil {
			t.Fatalf("admin retires %s v1: %v", s, err)
		}
		reader := dpo
		if s == keys.Genetic {
			reader = cur // SEC-LOG-6
		}
		got, err := reader.Unwrap(ctx, s, re)
		if err != nil || !bytes.Equal(got[0].Bytes(), wrapped[s].Key.Bytes()) {
			t.Fatalf("%s rewrapped: %v", s, err)
		}
	}
	if err := admin.RetireVersions(ctx, keys.Workspace(project), 2); err != nil {
		t.Fatalf("admin retires a workspace key version: %v", err)
	}
	if err := admin.CreateKey(ctx, keys.Workspace("other")); err != nil {
		t.Fatalf("admin creates a workspace key: %v", err)
	}

	if v, err := cur.RotateKey(ctx, keys.Workspace(project)); err != nil || v != 3 {
		t.Fatalf("curator rotates its workspace key: version %d, %v", v, err)
	}

	// The curator revokes the workspace: both its keys are gone.
	dir := t.TempDir()
	st := storetest.Local(t, dir)
	wh := &warehouse.Warehouse{St: st}
	now := time.Now().UTC()
	if err := objstore.WriteJSON(ctx, st, "workspaces/"+project+"/workspace.json", &workspaces.Descriptor{
		Project: project, Approval: "CESREES-TEST", Created: now, Expires: now.AddDate(1, 0, 0), Status: "active"}); err != nil {
		t.Fatal(err)
	}
	dk, err := cur.NewDataKeys(ctx, keys.Workspace(project), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cur.PseudonymKey(ctx, keys.PseudoWorkspace(project)); err != nil {
		t.Fatal(err)
	}
	d, err := workspaces.Revoke(ctx, wh, cur, project, now)
	if err != nil || d.Status != "revoked" {
		t.Fatalf("curator revokes %s: %v", project, err)
	}
	if _, err := cur.Unwrap(ctx, keys.Workspace(project), [][]byte{dk[0].Wrapped}); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("unwrap after revocation: %v, want keys.ErrKeyNotFound", err)
	}
	if _, err := e.login(t, keys.ProfileCurator).PseudonymKey(ctx, keys.PseudoWorkspace(project)); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("workspace pseudonym key after revocation: %v, want keys.ErrKeyNotFound", err)
	}
	if s, err := e.root.Logical().ReadWithContext(ctx, "hdw/metadata/"+e.warehouse+"/pseudo/"+hv.KVName(keys.PseudoWorkspace(project))); err != nil || s != nil {
		t.Errorf("workspace pseudonym key metadata after revocation: %v, %v", s != nil, err)
	}
}

// TestSEC_LOG_5_CreateExistingPseudonymKey: CreateKey on an existing
// pseudonym key is a no-op that never overwrites it, also for the admin,
// whose policy has "create" but neither "update" nor (but for the audit key)
// "read" there: Vault answers 403, not the check-and-set error. A profile
// that may not create the key still gets keys.ErrForbidden.
func TestSEC_LOG_5_CreateExistingPseudonymKey(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	admin := e.login(t, keys.ProfileAdmin)
	cur := e.login(t, keys.ProfileCurator)
	pseudo := []string{keys.PseudoWarehouse, keys.PseudoProfessional, keys.PseudoOpposition, keys.Audit}
	create(t, admin, pseudo...)
	ws := []string{keys.PseudoWorkspace("p"), keys.PseudoCohort("c")}
	create(t, cur, ws...)
	// The value of every key as written, read by root (version 1).
	value := func(n string) (key, version string) {
		t.Helper()
		s, err := e.root.Logical().ReadWithContext(ctx, "hdw/data/"+e.warehouse+"/pseudo/"+hv.KVName(n))
		if err != nil || s == nil {
			t.Fatalf("root reads %s: %v", n, err)
		}
		data, _ := s.Data["data"].(map[string]any)
		meta, _ := s.Data["metadata"].(map[string]any)
		v, _ := meta["version"].(json.Number)
		k, _ := data["key"].(string)
		if k == "" || v == "" {
			t.Fatalf("%s: no key or version", n)
		}
		return k, v.String()
	}
	before := map[string]string{}
	for _, n := range append(pseudo, ws...) {
		before[n], _ = value(n)
	}
	for range 2 {
		for _, n := range pseudo {
			if err := admin.CreateKey(ctx, n); err != nil {
				t.Errorf("admin creates existing %s: %v, want nil", n, err)
			}
		}
		for _, n := range ws {
			if err := cur.CreateKey(ctx, n); err != nil {
				t.Errorf("curator creates existing %s: %v, want nil", n, err)
			}
			if err := admin.CreateKey(ctx, n); err != nil {
				t.Errorf("admin creates existing %s: %v, want nil", n, err)
			}
		}
	}
	for _, n := range append(pseudo, ws...) {
		k, v := value(n)
		if k != before[n] || v != "1" {
			t.Errorf("%s was overwritten (now version %s)", n, v)
		}
	}
	// Profiles without "create" there: still 403, existing key or not.
	ing, appr := e.login(t, keys.ProfileIngest), e.login(t, keys.ProfileApprover)
	for _, c := range []struct {
		p *hv.Provider
		n string
	}{{ing, keys.PseudoWarehouse}, {ing, keys.Audit}, {ing, keys.PseudoWorkspace("fresh")},
		{appr, keys.Audit}, {appr, keys.PseudoOpposition}, {cur, keys.PseudoWarehouse}, {cur, keys.Audit}} {
		if err := c.p.CreateKey(ctx, c.n); !errors.Is(err, keys.ErrForbidden) {
			t.Errorf("%s creates %s: %v, want keys.ErrForbidden", c.p.Profile(), c.n, err)
		}
	}
	// A fresh key is still created.
	if err := admin.CreateKey(ctx, keys.PseudoCohort("fresh")); err != nil {
		t.Fatal(err)
	}
	value(keys.PseudoCohort("fresh"))
}

// TestSEC_LOG_6_DPOCannotUnwrapGeneticVault: against the real Vault, the dpo
// policy has no path on the genetic transit key: decrypt and encrypt get
// 403 (keys.ErrGeneticReserved, an keys.ErrForbidden), and a raw
// transit/decrypt with the dpo token is refused too; ingest wraps and the
// curator (workspace export) unwraps.
func TestSEC_LOG_6_DPOCannotUnwrapGeneticVault(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	admin := e.login(t, keys.ProfileAdmin)
	create(t, admin, keys.Genetic)
	ing, dpo, cur := e.login(t, keys.ProfileIngest), e.login(t, keys.ProfileDPO), e.login(t, keys.ProfileCurator)
	dk, err := ing.NewDataKeys(ctx, keys.Genetic, 1)
	if err != nil {
		t.Fatalf("ingest wraps genetic: %v", err)
	}
	if got, err := cur.Unwrap(ctx, keys.Genetic, [][]byte{dk[0].Wrapped}); err != nil || !bytes.Equal(got[0].Bytes(), dk[0].Key.Bytes()) {
		t.Fatalf("curator unwraps genetic: %v", err)
	}
	_, err = dpo.Unwrap(ctx, keys.Genetic, [][]byte{dk[0].Wrapped})
	if !errors.Is(err, keys.ErrGeneticReserved) || !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("dpo unwraps genetic: %v, want a policy refusal (ErrGeneticReserved)", err)
	}
	if _, err := dpo.NewDataKeys(ctx, keys.Genetic, 1); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("dpo wraps genetic: %v", err)
	}
	_, err = hv.Client(dpo).Logical().WriteWithContext(ctx, "transit/decrypt/"+hv.TransitName(e.warehouse, keys.Genetic),
		map[string]any{"ciphertext": string(dk[0].Wrapped)})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("raw transit/decrypt of genetic with the dpo token: %v, want 403", err)
	}
}
