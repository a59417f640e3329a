package vault_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"testing"

	"hdw/keys"
	hv "hdw/keys/vault"
)

// TestSEC_EXP_1_VaultPolicyAnchor (issue 21): the policy anchor is written
// by the admin's policy only and read by every profile; a data profile
// (curator) cannot write it, the admin cannot swap its seal key or lower
// the recorded count of sealed versions, and nobody deletes it.
func TestSEC_EXP_1_VaultPolicyAnchor(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	admin, cur := e.login(t, keys.ProfileAdmin), e.login(t, keys.ProfileCurator)
	if _, err := cur.PolicyAnchor(ctx); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("no anchor yet: %v", err)
	}
	pub := bytes.Repeat([]byte{1}, ed25519.PublicKeySize)
	forged := bytes.Repeat([]byte{2}, ed25519.PublicKeySize)
	if err := cur.SetPolicyAnchor(ctx, keys.Anchor{Public: forged, Versions: 1}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("curator writes the anchor: %v", err)
	}
	if err := admin.SetPolicyAnchor(ctx, keys.Anchor{Public: pub, Versions: 2}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{keys.ProfileIngest, keys.ProfileCurator, keys.ProfileApprover, keys.ProfileDPO} {
		a, err := e.login(t, p).PolicyAnchor(ctx)
		if err != nil || !bytes.Equal(a.Public, pub) || a.Versions != 2 {
			t.Fatalf("%s reads %x/%d, %v", p, a.Public, a.Versions, err)
		}
	}
	if err := admin.SetPolicyAnchor(ctx, keys.Anchor{Public: forged, Versions: 3}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("admin swaps the seal key: %v", err)
	}
	if err := admin.SetPolicyAnchor(ctx, keys.Anchor{Public: pub, Versions: 1}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("admin lowers the versions: %v", err)
	}
	if err := admin.SetPolicyAnchor(ctx, keys.Anchor{Public: pub, Versions: 3}); err != nil {
		t.Fatal(err)
	}
	path := "hdw/data/" + e.warehouse + "/policy/anchor"
	for _, p := range []*hv.Provider{admin, cur} {
		if _, err := hv.Client(p).Logical().DeleteWithContext(ctx, path); err == nil {
			t.Errorf("%s deletes the anchor", p.Profile())
		}
		if _, err := hv.Client(p).Logical().DeleteWithContext(ctx, "hdw/metadata/"+e.warehouse+"/policy/anchor"); err == nil {
			t.Errorf("%s destroys the anchor's versions", p.Profile())
		}
	}
	if a, err := cur.PolicyAnchor(ctx); err != nil || a.Versions != 3 {
		t.Fatalf("anchor after: %d, %v", a.Versions, err)
	}
}
