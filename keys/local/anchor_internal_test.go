package local

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"testing"

	"hdw/keys"
)

// TestSEC_EXP_1_PolicyAnchorSealed (issue 21): every profile of a new
// keyring holds the policy seal's public key in its passphrase-sealed
// entry, the one the admin's seal key signs with; a researcher added by
// the curator inherits it; the anchor cannot be stripped from an entry
// (downgrade to policy/seal.json) nor replaced.
func TestSEC_EXP_1_PolicyAnchorSealed(t *testing.T) {
	ctx := context.Background()
	st := newRing(t)
	adm := open(t, st, keys.ProfileAdmin)
	seed, err := adm.PseudonymKey(ctx, keys.PolicySeal)
	if err != nil {
		t.Fatalf("the seal key is created by Init: %v", err)
	}
	want := ed25519.NewKeyFromSeed(seed.Bytes()[:ed25519.SeedSize]).Public().(ed25519.PublicKey)
	for _, p := range WarehouseProfiles {
		a, err := open(t, st, p).PolicyAnchor(ctx)
		if err != nil || !bytes.Equal(a.Public, want) {
			t.Fatalf("%s: anchor %x, %v; want the seal key", p, a.Public, err)
		}
	}
	cur := open(t, st, keys.ProfileCurator)
	if err := cur.AddProfile(ctx, keys.Researcher("p1"), []byte("passphrase of researcher:p1")); err != nil {
		t.Fatal(err)
	}
	if a, err := open(t, st, keys.Researcher("p1")).PolicyAnchor(ctx); err != nil || !bytes.Equal(a.Public, want) {
		t.Fatalf("researcher anchor %x, %v", a.Public, err)
	}
	other := make([]byte, ed25519.PublicKeySize)
	if err := cur.SetPolicyAnchor(ctx, keys.Anchor{Public: other}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("replacing a held anchor: %v", err)
	}

	// Strip the anchor as a warehouse writer would: the entry's ciphertext
	// is sealed with the anchor's associated data, so an entry without it
	// no longer opens (it is not read as an older, unanchored one).
	r, _, err := load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	pe := r.Profiles[keys.ProfileCurator]
	pe.SealedPrivate = pe.SealedPrivate[:len(pe.SealedPrivate)-ed25519.PublicKeySize]
	r.Version++
	if err := save(ctx, st, r); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, st, keys.ProfileCurator, []byte("passphrase of curator")); !errors.Is(err, keys.ErrBadCredentials) {
		t.Fatalf("an edited entry opened: %v", err)
	}
}

// TestSEC_EXP_1_PolicyAnchorOldKeyring (issue 21): a keyring entry sealed
// before the anchor still opens and holds none (keys.ErrKeyNotFound: the
// caller falls back to policy/seal.json); its own profile anchors it
// once, under the same passphrase, and it then holds for good.
func TestSEC_EXP_1_PolicyAnchorOldKeyring(t *testing.T) {
	ctx := context.Background()
	st := newRing(t)
	// Rewrite the admin's entry as a keyring older than the anchor seals it.
	r, _, err := load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	pass := []byte("passphrase of admin")
	e, err := newProfile(keys.ProfileAdmin, pass, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Profiles[keys.ProfileAdmin] = e
	r.Version++
	if err := save(ctx, st, r); err != nil {
		t.Fatal(err)
	}
	adm := open(t, st, keys.ProfileAdmin)
	if _, err := adm.PolicyAnchor(ctx); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("old entry: %v", err)
	}
	pub := bytes.Repeat([]byte{7}, ed25519.PublicKeySize)
	if err := adm.SetPolicyAnchor(ctx, keys.Anchor{Public: pub}); err != nil {
		t.Fatal(err)
	}
	if a, err := open(t, st, keys.ProfileAdmin).PolicyAnchor(ctx); err != nil || !bytes.Equal(a.Public, pub) {
		t.Fatalf("migrated anchor %x, %v", a.Public, err)
	}
}
