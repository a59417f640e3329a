package vault_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"hdw/configs/vault"
	"hdw/internal/testenv"
	"hdw/keys"
	hv "hdw/keys/vault"
)

type env struct {
	root      *api.Client
	warehouse string
	addr      string
	dir       string
}

// server connects to the real Vault started by make test.
func server(t *testing.T) *env {
	t.Helper()
	addr := testenv.Env(t, "HDW_VAULT_ADDR", "make test starts scripts/vault-server.sh")
	tok, err := os.ReadFile(os.Getenv("HDW_VAULT_ROOT_TOKEN_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := hv.NewClient(hv.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(strings.TrimSpace(string(tok)))
	e := &env{root: c, warehouse: fmt.Sprintf("t%d", time.Now().UnixNano()%1e9), addr: addr, dir: t.TempDir()}
	if err := hv.Setup(context.Background(), c, e.warehouse, vault.Policies); err != nil {
		t.Fatal(err)
	}
	if err := hv.Setup(context.Background(), c, e.warehouse, vault.Policies); err != nil {
		t.Fatalf("setup must be idempotent: %v", err)
	}
	return e
}

// login opens a provider as profile through its AppRole.
// create creates the keys as p's profile; an error fails t.
func create(t *testing.T, p *hv.Provider, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := p.CreateKey(context.Background(), n); err != nil {
			t.Fatalf("%s creates %s: %v", p.Profile(), n, err)
		}
	}
}

func (e *env) login(t *testing.T, profile string) *hv.Provider {
	t.Helper()
	ctx := context.Background()
	rid, sid, err := hv.RoleCredentials(ctx, e.root, e.warehouse, profile)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(e.dir, strings.ReplaceAll(profile, ":", "_")+".sid")
	os.WriteFile(f, []byte(sid), 0o600)
	p, err := hv.Open(ctx, hv.Config{Address: e.addr, RoleID: rid, SecretIDFile: f, Warehouse: e.warehouse, Profile: profile})
	if err != nil {
		t.Fatalf("login %s: %v", profile, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

var profiles = []string{keys.ProfileIngest, keys.ProfileCurator, keys.ProfileApprover, keys.ProfileDPO, keys.ProfileAdmin}

// TestSEC_LOG_5_VaultPolicies checks, against the real server, that every
// profile can do exactly what keys.Allowed says: Vault's policies enforce
// the separation of ARCHITECTURE §1 (SEC-LOG-4..6, SEC-HAB-2).
func TestSEC_LOG_5_VaultPolicies(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	admin := e.login(t, keys.ProfileAdmin)
	create(t, admin, keys.Health, keys.Identity, keys.Genetic, keys.AuditStore, keys.PseudoWarehouse, keys.PseudoProfessional, keys.PseudoOpposition, keys.Audit)
	ps := map[string]*hv.Provider{}
	for _, p := range profiles {
		ps[p] = e.login(t, p)
	}
	wrapped := map[string][]byte{}
	for _, s := range []string{keys.Health, keys.Identity, keys.Genetic} {
		dk, err := ps[keys.ProfileIngest].NewDataKeys(ctx, s, 3)
		if err != nil {
			t.Fatalf("ingest wraps %s: %v", s, err)
		}
		wrapped[s] = dk[0].Wrapped
	}
	for _, p := range profiles {
		for s, w := range wrapped {
			name := fmt.Sprintf("%s unwrap %s", p, s)
			_, err := ps[p].Unwrap(ctx, s, [][]byte{w})
			if keys.Allowed(p, keys.OpUnwrap, s) {
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			} else if !errors.Is(err, keys.ErrForbidden) {
				t.Errorf("%s: got %v, want 403 (keys.ErrForbidden)", name, err)
			}
			_, err = ps[p].NewDataKeys(ctx, s, 1)
			if keys.Allowed(p, keys.OpWrap, s) != (err == nil) {
				t.Errorf("%s wrap %s: %v", p, s, err)
			}
		}
		for _, n := range []string{keys.PseudoWarehouse, keys.PseudoProfessional, keys.PseudoOpposition, keys.Audit} {
			_, err := ps[p].PseudonymKey(ctx, n)
			if keys.Allowed(p, keys.OpUse, n) != (err == nil) {
				t.Errorf("%s use %s: %v", p, n, err)
			}
		}
	}
	// Batched: 2,500 data keys in three round trips.
	dks, err := ps[keys.ProfileIngest].NewDataKeys(ctx, keys.Health, 2500)
	if err != nil || len(dks) != 2500 {
		t.Fatal(err)
	}
	var ws [][]byte
	for _, d := range dks {
		ws = append(ws, d.Wrapped)
	}
	got, err := ps[keys.ProfileCurator].Unwrap(ctx, keys.Health, ws)
	if err != nil || string(got[2499].Bytes()) != string(dks[2499].Key.Bytes()) {
		t.Fatal("batched round trip", err)
	}
	if op, err := ps[keys.ProfileIngest].Operator(ctx); err != nil || !strings.HasPrefix(op, "LH-SVC-") {
		t.Fatal(op, err)
	}
}

// TestSEC_HAB_2_ResearcherVault: a researcher gets 403 on the identity key
// and on another project's workspace key.
func TestSEC_HAB_2_ResearcherVault(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	admin := e.login(t, keys.ProfileAdmin)
	create(t, admin, keys.Identity, keys.Audit)
	for _, p := range []string{"alpha", "beta"} {
		if err := hv.SetupResearcher(ctx, e.root, e.warehouse, p, vault.Policies); err != nil {
			t.Fatal(err)
		}
	}
	cur := e.login(t, keys.ProfileCurator)
	for _, p := range []string{"alpha", "beta"} {
		create(t, cur, keys.Workspace(p), keys.PseudoWorkspace(p))
	}
	a, _ := cur.NewDataKeys(ctx, keys.Workspace("alpha"), 1)
	b, _ := cur.NewDataKeys(ctx, keys.Workspace("beta"), 1)
	id, _ := e.login(t, keys.ProfileIngest).NewDataKeys(ctx, keys.Identity, 1)
	r := e.login(t, keys.Researcher("alpha"))
	if _, err := r.Unwrap(ctx, keys.Workspace("alpha"), [][]byte{a[0].Wrapped}); err != nil {
		t.Fatalf("researcher:alpha on its workspace: %v", err)
	}
	if _, err := r.Unwrap(ctx, keys.Workspace("beta"), [][]byte{b[0].Wrapped}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("SEC-ESP-1: researcher:alpha on beta: %v", err)
	}
	if _, err := r.Unwrap(ctx, keys.Identity, [][]byte{id[0].Wrapped}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("SEC-HAB-2: researcher on identity: %v", err)
	}
	// Revocation (SEC-HAB-6).
	if err := cur.DestroyKey(ctx, keys.Workspace("alpha")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Unwrap(ctx, keys.Workspace("alpha"), [][]byte{a[0].Wrapped}); err == nil {
		t.Fatal("destroyed key still opens")
	}
}

// TestSEC_LOG_2_VaultRotation: ingest, rotate, ingest; both readable;
// rewrap, retire the old version, both readable through the rewrapped keys.
func TestSEC_LOG_2_VaultRotation(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	admin := e.login(t, keys.ProfileAdmin)
	create(t, admin, keys.Health, keys.Audit)
	ing := e.login(t, keys.ProfileIngest)
	old, _ := ing.NewDataKeys(ctx, keys.Health, 1)
	v, err := admin.RotateKey(ctx, keys.Health)
	if err != nil || v != 2 {
		t.Fatal(v, err)
	}
	nw, _ := ing.NewDataKeys(ctx, keys.Health, 1)
	cur := e.login(t, keys.ProfileCurator)
	if _, err := cur.Unwrap(ctx, keys.Health, [][]byte{old[0].Wrapped, nw[0].Wrapped}); err != nil {
		t.Fatal(err)
	}
	re, err := admin.Rewrap(ctx, keys.Health, [][]byte{old[0].Wrapped})
	if err != nil || !strings.HasPrefix(string(re[0]), "vault:v2:") {
		t.Fatal(err)
	}
	if err := admin.RetireVersions(ctx, keys.Health, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := cur.Unwrap(ctx, keys.Health, [][]byte{old[0].Wrapped}); err == nil {
		t.Fatal("retired version still opens")
	}
	got, err := cur.Unwrap(ctx, keys.Health, [][]byte{re[0], nw[0].Wrapped})
	if err != nil || string(got[0].Bytes()) != string(old[0].Key.Bytes()) {
		t.Fatal(err)
	}
}

// TestVaultUnavailable: a stopped server gives keys.ErrUnavailable.
func TestVaultUnavailable(t *testing.T) {
	f := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(f, []byte("x"), 0o600)
	p, err := hv.Open(context.Background(), hv.Config{Address: "http://127.0.0.1:1", TokenFile: f, Warehouse: "w", Profile: "ingest"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.NewDataKeys(context.Background(), keys.Health, 1)
	if !errors.Is(err, keys.ErrUnavailable) {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "x") && strings.Contains(err.Error(), "token") {
		t.Fatal("error mentions the token")
	}
}
