package local

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"hdw/keys"
)

// TestENS_OP_ACC_1_SWR_009_OperatorsArePeople: the admin enrols two curators; they
// are two operator ids with two key pairs, each private key sealed by the
// person's own passphrase; no other profile enrols (SWR-009); a wrong
// passphrase is refused; a removed operator signs nothing more but their
// public key still verifies what they signed.
func TestENS_OP_ACC_1_SWR_009_OperatorsArePeople(t *testing.T) {
	ctx := context.Background()
	st := newRing(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	cur := open(t, st, keys.ProfileCurator)
	if _, err := cur.AddOperator(ctx, "mallory", keys.ProfileAdmin, []byte("self-registered"), now); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("SWR-009: a curator enrols an operator: %v", err)
	}
	admin := open(t, st, keys.ProfileAdmin)
	alice, err := admin.AddOperator(ctx, "alice", keys.ProfileCurator, []byte("alice's own passphrase"), now)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := admin.AddOperator(ctx, "bob", keys.ProfileCurator, []byte("bob's own passphrase"), now)
	if err != nil {
		t.Fatal(err)
	}
	if alice.ID == bob.ID || alice.PublicKey.Equal(bob.PublicKey) || alice.Role != keys.ProfileCurator || len(alice.ID) != len("LH-USR-")+36 {
		t.Fatalf("two curators, one identity: %+v %+v", alice, bob)
	}
	if _, err := admin.AddOperator(ctx, "alice", keys.ProfileDPO, []byte("another passphrase"), now); err == nil {
		t.Fatal("a second alice enrolled")
	}
	ak, err := OpenOperator(ctx, st, "alice", []byte("alice's own passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ak.Sign(ctx, []byte("export approval E-1"))
	if err != nil || ak.OperatorID() != alice.ID {
		t.Fatal(err)
	}
	dir := cur.Directory()
	got, err := dir.Operator(ctx, alice.ID)
	if err != nil || !ed25519.Verify(got.PublicKey, []byte("export approval E-1"), sig) {
		t.Fatalf("alice's signature does not verify with the directory: %v", err)
	}
	if ed25519.Verify(bob.PublicKey, []byte("export approval E-1"), sig) {
		t.Fatal("bob's key verifies alice's signature")
	}
	if _, err := OpenOperator(ctx, st, "bob", []byte("alice's own passphrase")); !errors.Is(err, keys.ErrBadCredentials) {
		t.Fatalf("bob opened with alice's passphrase: %v", err)
	}
	if _, err := cur.RemoveOperator(ctx, "bob", now); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("a curator removes an operator: %v", err)
	}
	if _, err := admin.RemoveOperator(ctx, "bob", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenOperator(ctx, st, "bob", []byte("bob's own passphrase")); !errors.Is(err, keys.ErrBadCredentials) {
		t.Fatalf("a removed operator unlocks: %v", err)
	}
	ops, err := dir.Operators(ctx)
	if err != nil || len(ops) != 2 || ops[1].Removed.IsZero() && ops[0].Removed.IsZero() {
		t.Fatalf("directory: %+v %v", ops, err)
	}
	if _, err := dir.Operator(ctx, "nobody"); !errors.Is(err, keys.ErrOperatorNotFound) {
		t.Fatalf("unknown operator: %v", err)
	}
}
