package local

import (
	"context"
	"errors"
	"testing"

	"hdw/keys"
	"hdw/objstore"
	"hdw/objstore/storetest"
)

func passes() map[string][]byte {
	m := map[string][]byte{}
	for _, p := range WarehouseProfiles {
		m[p] = []byte("passphrase of " + p)
	}
	return m
}

func newRing(t *testing.T) objstore.Store {
	t.Helper()
	st := storetest.Local(t, t.TempDir())
	if err := Init(context.Background(), st, passes()); err != nil {
		t.Fatal(err)
	}
	return st
}

func open(t *testing.T, st objstore.Store, profile string) *Keyring {
	t.Helper()
	k, err := Open(context.Background(), st, profile, []byte("passphrase of "+profile))
	if err != nil {
		t.Fatalf("open %s: %v", profile, err)
	}
	return k
}

// newKeys wraps n new data keys of store as k; an error fails t.
func newKeys(t *testing.T, k *Keyring, store string, n int) []keys.DataKey {
	t.Helper()
	dks, err := k.NewDataKeys(context.Background(), store, n)
	if err != nil {
		t.Fatalf("%s wraps %s: %v", k.Profile(), store, err)
	}
	return dks
}

// TestSEC_LOG_4_SealedSeparation: the ingest profile never holds the
// identity private key, so even bypassing keys.Allowed it cannot unwrap.
func TestSEC_LOG_4_SealedSeparation(t *testing.T) {
	ctx := context.Background()
	st := newRing(t)
	ing := open(t, st, keys.ProfileIngest)
	dks := newKeys(t, ing, keys.Identity, 2)
	if _, err := ing.Unwrap(ctx, keys.Identity, [][]byte{dks[0].Wrapped}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("ingest unwrap identity: %v", err)
	}
	// Bypass the access check: the sealed private key is simply not there.
	if _, err := ing.storePrivate(ctx, keys.Identity, 1); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("ingest holds the identity private key: %v", err)
	}
	dpo := open(t, st, keys.ProfileDPO)
	got, err := dpo.Unwrap(ctx, keys.Identity, [][]byte{dks[0].Wrapped, dks[1].Wrapped})
	if err != nil || string(got[1].Bytes()) != string(dks[1].Key.Bytes()) {
		t.Fatalf("dpo unwrap: %v", err)
	}
	cur := open(t, st, keys.ProfileCurator)
	if _, err := cur.Unwrap(ctx, keys.Identity, [][]byte{dks[0].Wrapped}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatal("SEC-LOG-5: curator must not read the identity store")
	}
	if _, err := cur.storePrivate(ctx, keys.Identity, 1); !errors.Is(err, keys.ErrForbidden) {
		t.Fatal("curator holds the identity private key")
	}
}

// TestSEC_HAB_2_Profiles checks every profile against keys.Allowed.
func TestSEC_HAB_2_Profiles(t *testing.T) {
	ctx := context.Background()
	st := newRing(t)
	rings := map[string]*Keyring{}
	for _, p := range WarehouseProfiles {
		rings[p] = open(t, st, p)
	}
	wrapped := map[string][]byte{}
	for _, s := range []string{keys.Health, keys.Identity, keys.Genetic} {
		dk := newKeys(t, rings[keys.ProfileIngest], s, 1)
		wrapped[s] = dk[0].Wrapped
	}
	for p, k := range rings {
		for s, w := range wrapped {
			_, err := k.Unwrap(ctx, s, [][]byte{w})
			if keys.Allowed(p, keys.OpUnwrap, s) != (err == nil) {
				t.Errorf("%s unwrap %s: %v", p, s, err)
			}
		}
		for _, n := range []string{keys.PseudoWarehouse, keys.PseudoProfessional, keys.PseudoOpposition, keys.Audit} {
			_, err := k.PseudonymKey(ctx, n)
			if keys.Allowed(p, keys.OpUse, n) != (err == nil) {
				t.Errorf("%s use %s: %v", p, n, err)
			}
		}
	}
	if _, err := rings[keys.ProfileApprover].PseudonymKey(ctx, keys.PseudoWarehouse); !errors.Is(err, keys.ErrForbidden) {
		t.Error("approver must not use pseudonym keys")
	}
}

func TestWorkspaceKeysAndResearchers(t *testing.T) {
	ctx := context.Background()
	st := newRing(t)
	cur := open(t, st, keys.ProfileCurator)
	for _, n := range []string{keys.Workspace("a"), keys.Workspace("b"), keys.PseudoWorkspace("a")} {
		if err := cur.CreateKey(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"a", "b"} {
		if err := cur.AddProfile(ctx, keys.Researcher(p), []byte("passphrase of researcher:"+p)); err != nil {
			t.Fatal(err)
		}
	}
	dka, dkb := newKeys(t, cur, keys.Workspace("a"), 1), newKeys(t, cur, keys.Workspace("b"), 1)
	ra := open(t, st, keys.Researcher("a"))
	if _, err := ra.Unwrap(ctx, keys.Workspace("a"), [][]byte{dka[0].Wrapped}); err != nil {
		t.Fatalf("researcher a on ws:a: %v", err)
	}
	if _, err := ra.Unwrap(ctx, keys.Workspace("b"), [][]byte{dkb[0].Wrapped}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatal("SEC-ESP-1: researcher a must not open workspace b")
	}
	if _, err := ra.storePrivate(ctx, keys.Workspace("b"), 1); !errors.Is(err, keys.ErrForbidden) {
		t.Fatal("researcher a holds ws:b")
	}
	if _, err := ra.Unwrap(ctx, keys.Identity, [][]byte{dka[0].Wrapped}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatal("SEC-HAB-2: researcher must not open identity")
	}
	// Revocation destroys the key (SEC-HAB-6).
	if err := cur.DestroyKey(ctx, keys.Workspace("a")); err != nil {
		t.Fatal(err)
	}
	ra2 := open(t, st, keys.Researcher("a"))
	if _, err := ra2.Unwrap(ctx, keys.Workspace("a"), [][]byte{dka[0].Wrapped}); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("destroyed key: %v", err)
	}
}

func TestRotationRewrapRetire(t *testing.T) {
	ctx := context.Background()
	st := newRing(t)
	ing := open(t, st, keys.ProfileIngest)
	old := newKeys(t, ing, keys.Health, 1)
	adm := open(t, st, keys.ProfileAdmin)
	v, err := adm.RotateKey(ctx, keys.Health)
	if err != nil || v != 2 {
		t.Fatal(v, err)
	}
	if _, err := adm.Unwrap(ctx, keys.Health, [][]byte{old[0].Wrapped}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatal("admin must not decrypt data")
	}
	ing2 := open(t, st, keys.ProfileIngest)
	nw := newKeys(t, ing2, keys.Health, 1)
	cur := open(t, st, keys.ProfileCurator)
	got, err := cur.Unwrap(ctx, keys.Health, [][]byte{old[0].Wrapped, nw[0].Wrapped})
	if err != nil || string(got[0].Bytes()) != string(old[0].Key.Bytes()) {
		t.Fatalf("old data must stay readable after rotation: %v", err)
	}
	re, err := cur.Rewrap(ctx, keys.Health, [][]byte{old[0].Wrapped})
	if err != nil {
		t.Fatal(err)
	}
	if err := adm.RetireVersions(ctx, keys.Health, 2); err != nil {
		t.Fatal(err)
	}
	cur2 := open(t, st, keys.ProfileCurator)
	if _, err := cur2.Unwrap(ctx, keys.Health, [][]byte{old[0].Wrapped}); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("retired version must not open: %v", err)
	}
	got, err = cur2.Unwrap(ctx, keys.Health, re)
	if err != nil || string(got[0].Bytes()) != string(old[0].Key.Bytes()) {
		t.Fatalf("rewrapped key: %v", err)
	}
}

func TestBadPassphrase(t *testing.T) {
	st := newRing(t)
	if _, err := Open(context.Background(), st, keys.ProfileDPO, []byte("wrong")); !errors.Is(err, keys.ErrBadCredentials) {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), st, "researcher:nope", []byte("x")); !errors.Is(err, keys.ErrBadCredentials) {
		t.Fatal(err)
	}
}

func TestSecretsRedacted(t *testing.T) {
	s := keys.RandomSecret()
	for _, out := range []string{s.String(), s.GoString()} {
		if out != "[redacted]" {
			t.Fatal(out)
		}
	}
}

// TestSEC_LOG_6_DPOCannotUnwrapGenetic: on the local keyring the genetic
// private key is sealed only to ingest-wrappable, curator-unwrappable
// profiles: the dpo gets keys.ErrGeneticReserved and, bypassing the check,
// holds no sealed genetic key. A keyring written before SEC-LOG-6 was
// enforced (the dpo's sealed copy present) loses it at the next write.
func TestSEC_LOG_6_DPOCannotUnwrapGenetic(t *testing.T) {
	ctx := context.Background()
	st := newRing(t)
	ing := open(t, st, keys.ProfileIngest)
	dks := newKeys(t, ing, keys.Genetic, 1)
	cur := open(t, st, keys.ProfileCurator)
	if _, err := cur.Unwrap(ctx, keys.Genetic, [][]byte{dks[0].Wrapped}); err != nil {
		t.Fatalf("curator unwraps genetic: %v", err)
	}
	dpo := open(t, st, keys.ProfileDPO)
	if _, err := dpo.Unwrap(ctx, keys.Genetic, [][]byte{dks[0].Wrapped}); !errors.Is(err, keys.ErrGeneticReserved) {
		t.Fatalf("dpo unwraps genetic: %v", err)
	}
	if _, err := dpo.storePrivate(ctx, keys.Genetic, 1); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("dpo holds the genetic private key: %v", err)
	}
	// An old keyring: seal the genetic key to the dpo by hand, then let any
	// write (the admin rotating health) prune it.
	r, _, err := load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	v := &r.Keys[keys.Genetic].Versions[0]
	v.Sealed[keys.ProfileDPO] = v.Sealed[keys.ProfileCurator]
	r.Version++
	if err := save(ctx, st, r); err != nil {
		t.Fatal(err)
	}
	admin := open(t, st, keys.ProfileAdmin)
	if _, err := admin.RotateKey(ctx, keys.Health); err != nil {
		t.Fatal(err)
	}
	r, _, _ = load(ctx, st)
	if _, ok := r.Keys[keys.Genetic].Versions[0].Sealed[keys.ProfileDPO]; ok {
		t.Fatal("the dpo's old sealed genetic key survived a keyring write")
	}
}
