package keystest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"hdw/keys"
)

// Profiles opened by [Conformance]: the five warehouse profiles and the
// researchers of projects "a" and "b".
var Profiles = []string{
	keys.ProfileIngest, keys.ProfileCurator, keys.ProfileApprover, keys.ProfileDPO,
	keys.ProfileAdmin, keys.Researcher("a"), keys.Researcher("b"),
}

// secID names the requirement a check on key name shows.
func secID(name string) string {
	switch {
	case name == keys.Identity:
		return "SEC-LOG-4"
	case name == keys.Genetic:
		return "SEC-LOG-6"
	case len(name) > 3 && name[:3] == "ws:":
		return "SEC-HAB-2"
	}
	return "SEC-LOG-5"
}

func verb(ok bool) string {
	if ok {
		return "can"
	}
	return "cannot"
}

// Conformance checks that a provider enforces exactly [keys.Allowed]:
// everything the table permits works and everything else returns
// [keys.ErrForbidden] (SEC-LOG-4, SEC-LOG-5, SEC-LOG-6, SEC-HAB-2), that
// NewDataKeys/Unwrap round trip, that rotation keeps old wrapped keys
// readable, and that DestroyKey makes Unwrap fail with [keys.ErrKeyNotFound].
// The curator destroys: workspace revocation is its job (SEC-HAB-6); the
// admin's Vault policy has no delete at all (configs/vault/admin.hcl).
//
// open returns a provider acting as profile on one shared, initialized
// warehouse (health, identity, genetic and the warehouse pseudonym keys
// exist). It is called once per profile of [Profiles], all before any key
// is created, so that researcher profiles exist when their workspace keys
// are created.
func Conformance(t *testing.T, open func(t *testing.T, profile string) keys.Provider) {
	t.Helper()
	ctx := context.Background()
	p := map[string]keys.Provider{}
	for _, name := range Profiles {
		p[name] = open(t, name)
	}
	admin, curator, dpo := p[keys.ProfileAdmin], p[keys.ProfileCurator], p[keys.ProfileDPO]
	for _, name := range []string{keys.Workspace("a"), keys.Workspace("b"),
		keys.PseudoWorkspace("a"), keys.PseudoCohort("c")} {
		if err := curator.CreateKey(ctx, name); err != nil {
			t.Fatalf("curator creates %s: %v", name, err)
		}
	}
	stores := []string{keys.Health, keys.Identity, keys.Genetic, keys.AuditStore, keys.Workspace("a"), keys.Workspace("b")}
	// The dpo may wrap for every store but the genetic one (SEC-LOG-6: the
	// curator wraps that sample): it makes the samples the others unwrap.
	samples := map[string]keys.DataKey{}
	for _, s := range stores {
		wrapper := dpo
		if s == keys.Genetic {
			wrapper = curator
		}
		dks, err := wrapper.NewDataKeys(ctx, s, 1)
		if err != nil || len(dks) != 1 {
			t.Fatalf("dpo wraps %s: %v", s, err)
		}
		samples[s] = dks[0]
	}
	expect := func(t *testing.T, allowed bool, err error) {
		t.Helper()
		switch {
		case allowed && err != nil:
			t.Fatalf("allowed by keys.Allowed but failed: %v", err)
		case !allowed && !errors.Is(err, keys.ErrForbidden):
			t.Fatalf("not allowed by keys.Allowed, got %v, want ErrForbidden", err)
		}
	}
	for i, prof := range Profiles {
		pr := p[prof]
		fresh := fmt.Sprintf("z-conf%d", i) // a key no one created yet
		for _, s := range stores {
			ok := keys.Allowed(prof, keys.OpWrap, s)
			t.Run(secID(s)+"/"+prof+" "+verb(ok)+" wrap "+s, func(t *testing.T) {
				dks, err := pr.NewDataKeys(ctx, s, 2)
				expect(t, ok, err)
				if ok && (len(dks) != 2 || dks[0].Key.Len() != 32 || bytes.Equal(dks[0].Key.Bytes(), dks[1].Key.Bytes())) {
					t.Fatal("want two distinct 256-bit data keys")
				}
			})
			ok = keys.Allowed(prof, keys.OpUnwrap, s)
			t.Run(secID(s)+"/"+prof+" "+verb(ok)+" unwrap "+s, func(t *testing.T) {
				got, err := pr.Unwrap(ctx, s, [][]byte{samples[s].Wrapped})
				expect(t, ok, err)
				if ok && (len(got) != 1 || !bytes.Equal(got[0].Bytes(), samples[s].Key.Bytes())) {
					t.Fatal("unwrapped key differs from the wrapped one")
				}
			})
		}
		for _, n := range []string{keys.PseudoWarehouse, keys.PseudoProfessional, keys.PseudoOpposition,
			keys.Audit, keys.PseudoWorkspace("a"), keys.PseudoCohort("c")} {
			ok := keys.Allowed(prof, keys.OpUse, n)
			t.Run("SEC-LOG-5/"+prof+" "+verb(ok)+" use "+n, func(t *testing.T) {
				s, err := pr.PseudonymKey(ctx, n)
				expect(t, ok, err)
				if ok && s.Len() != 32 {
					t.Fatalf("pseudonym key of %d bytes, want 32", s.Len())
				}
			})
		}
		for _, n := range []string{keys.Workspace(fresh), keys.PseudoWorkspace(fresh)} {
			ok := keys.Allowed(prof, keys.OpCreate, n)
			t.Run("SEC-LOG-5/"+prof+" "+verb(ok)+" create "+n, func(t *testing.T) {
				expect(t, ok, pr.CreateKey(ctx, n))
			})
		}
		ok := keys.Allowed(prof, keys.OpRotate, keys.Identity)
		t.Run("SEC-LOG-5/"+prof+" "+verb(ok)+" rotate identity", func(t *testing.T) {
			_, err := pr.RotateKey(ctx, keys.Identity)
			expect(t, ok, err)
		})
		// No profile destroys a warehouse key (only workspace revocation
		// destroys keys): nothing here may succeed.
		for _, n := range []string{keys.Identity, keys.Health, keys.PseudoWarehouse} {
			if keys.Allowed(prof, keys.OpDestroy, n) {
				t.Fatalf("access table lets %s destroy %s", prof, n)
			}
			t.Run("SEC-LOG-5/"+prof+" cannot destroy "+n, func(t *testing.T) {
				expect(t, false, pr.DestroyKey(ctx, n))
			})
		}
	}
	t.Run("approver cannot unwrap anything", func(t *testing.T) {
		for _, s := range stores {
			if _, err := p[keys.ProfileApprover].Unwrap(ctx, s, [][]byte{samples[s].Wrapped}); !errors.Is(err, keys.ErrForbidden) {
				t.Errorf("approver unwrap %s: %v", s, err)
			}
		}
	})
	t.Run("rotation keeps old wrapped keys readable", func(t *testing.T) {
		old, err := p[keys.ProfileIngest].NewDataKeys(ctx, keys.Health, 3)
		if err != nil {
			t.Fatal(err)
		}
		v, err := admin.RotateKey(ctx, keys.Health)
		if err != nil || v < 2 {
			t.Fatalf("rotate health: version %d, %v", v, err)
		}
		cur, err := p[keys.ProfileIngest].NewDataKeys(ctx, keys.Health, 1)
		if err != nil {
			t.Fatal(err)
		}
		wrapped := [][]byte{old[0].Wrapped, old[1].Wrapped, old[2].Wrapped, cur[0].Wrapped}
		want := []keys.DataKey{old[0], old[1], old[2], cur[0]}
		got, err := curator.Unwrap(ctx, keys.Health, wrapped)
		if err != nil || len(got) != 4 {
			t.Fatalf("unwrap after rotation: %v", err)
		}
		for i := range got {
			if !bytes.Equal(got[i].Bytes(), want[i].Key.Bytes()) {
				t.Fatalf("key %d differs after rotation", i)
			}
		}
		re, err := curator.Rewrap(ctx, keys.Health, wrapped[:3])
		if err != nil || len(re) != 3 {
			t.Fatalf("rewrap: %v", err)
		}
		got, err = curator.Unwrap(ctx, keys.Health, re)
		if err != nil || !bytes.Equal(got[2].Bytes(), old[2].Key.Bytes()) {
			t.Fatalf("unwrap after rewrap: %v", err)
		}
	})
	t.Run("SEC-HAB-2/destroyed key cannot be unwrapped", func(t *testing.T) {
		name := keys.Workspace("a")
		dks, err := curator.NewDataKeys(ctx, name, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := curator.DestroyKey(ctx, name); err != nil {
			t.Fatalf("destroy: %v", err)
		}
		if _, err := curator.Unwrap(ctx, name, [][]byte{dks[0].Wrapped}); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Fatalf("unwrap destroyed key: %v, want ErrKeyNotFound", err)
		}
	})
	t.Run("SEC-PSE-1/pseudonym key rotation chains its versions, the old one retires", func(t *testing.T) {
		pseudonymRotation(t, p, open)
	})
}

// pseudonymRotation: the admin adds a version of the warehouse pseudonym
// key without reading it; the dpo and ingest then get both versions as one
// keys.Chain (old first, unchanged); the admin retires version 1 on the
// key's metadata, and the chain still opens (issue 22).
func pseudonymRotation(t *testing.T, p map[string]keys.Provider, open func(t *testing.T, profile string) keys.Provider) {
	ctx := context.Background()
	before, err := p[keys.ProfileDPO].PseudonymKey(ctx, keys.PseudoWarehouse)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p[keys.ProfileAdmin].RotateKey(ctx, keys.PseudoWarehouse)
	if err != nil || v != 2 {
		t.Fatalf("admin rotates the warehouse pseudonym key: version %d, %v", v, err)
	}
	for _, prof := range []string{keys.ProfileDPO, keys.ProfileIngest} {
		s, err := open(t, prof).PseudonymKey(ctx, keys.PseudoWarehouse)
		if err != nil {
			t.Fatalf("%s after rotation: %v", prof, err)
		}
		l := keys.Links(s)
		if len(l) != 2 || !bytes.Equal(l[0], before.Bytes()) || len(l[1]) != 32 || bytes.Equal(l[1], l[0]) {
			t.Fatalf("%s: want the chain (version 1 unchanged, a new version 2), got %d links", prof, len(l))
		}
	}
	vs, ok := p[keys.ProfileAdmin].(keys.Versions)
	if !ok {
		t.Fatal("provider does not implement keys.Versions")
	}
	if r, ok := p[keys.ProfileDPO].(keys.Versions); ok {
		if err := r.RetireVersions(ctx, keys.PseudoWarehouse, 2); !errors.Is(err, keys.ErrForbidden) {
			t.Fatalf("dpo retires a pseudonym key version: %v, want ErrForbidden", err)
		}
	}
	if err := vs.RetireVersions(ctx, keys.PseudoWarehouse, 2); err != nil {
		t.Fatalf("admin retires version 1: %v", err)
	}
	latest, min, err := vs.KeyVersions(ctx, keys.PseudoWarehouse)
	if err != nil || latest != 2 || min != 2 {
		t.Fatalf("versions after retirement: latest %d min %d, %v", latest, min, err)
	}
	if s, err := open(t, keys.ProfileDPO).PseudonymKey(ctx, keys.PseudoWarehouse); err != nil || len(keys.Links(s)) != 2 {
		t.Fatalf("the chain must still open after retirement: %v", err)
	}
}
