package local_test

import (
	"context"
	"testing"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/keys/local"
	"hdw/objstore/storetest"
)

func TestConformanceLocal(t *testing.T) {
	ctx := context.Background()
	st := storetest.Local(t, t.TempDir())
	pass := func(p string) []byte { return []byte("conformance passphrase of " + p) }
	m := map[string][]byte{}
	for _, p := range local.WarehouseProfiles {
		m[p] = pass(p)
	}
	if err := local.Init(ctx, st, m); err != nil {
		t.Fatal(err)
	}
	keystest.Conformance(t, func(t *testing.T, profile string) keys.Provider {
		t.Helper()
		if _, ok := m[profile]; !ok {
			cur, err := local.Open(ctx, st, keys.ProfileCurator, pass(keys.ProfileCurator))
			if err != nil {
				t.Fatal(err)
			}
			if err := cur.AddProfile(ctx, profile, pass(profile)); err != nil {
				t.Fatalf("add %s: %v", profile, err)
			}
			cur.Close()
		}
		k, err := local.Open(ctx, st, profile, pass(profile))
		if err != nil {
			t.Fatalf("open %s: %v", profile, err)
		}
		t.Cleanup(func() { k.Close() })
		return k
	})
}
