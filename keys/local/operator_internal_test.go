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
	if _, err := cur.AddOperator(ctx, "mallory", keys.ProfileAdmin, keys.Authorization{Decision: "D-1", Manager: "m"}, []byte("self-registered"), now); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("SWR-009: a curator enrols an operator: %v", err)
	}
	admin := open(t, st, keys.ProfileAdmin)
	decision := keys.Authorization{Decision: "CSE-2026-014"}
	alice, err := admin.AddOperator(ctx, "alice", keys.ProfileCurator, decision, []byte("alice's own passphrase"), now)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := admin.AddOperator(ctx, "bob", keys.ProfileCurator, decision, []byte("bob's own passphrase"), now)
	if err != nil {
		t.Fatal(err)
	}
	if alice.ID == bob.ID || alice.PublicKey.Equal(bob.PublicKey) || alice.Role != keys.ProfileCurator || len(alice.ID) != len("LH-USR-")+36 {
		t.Fatalf("two curators, one identity: %+v %+v", alice, bob)
	}
	if _, err := admin.AddOperator(ctx, "alice", keys.ProfileDPO, decision, []byte("another passphrase"), now); err == nil {
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

// TestSEC_HAB_3_SEC_HAB_6_EnrolmentDecisionAndReview: an enrolment
// without the authorizing decision is refused (and an admin's without the
// line manager); the decision is stored with the operator; a review is
// recorded (who, when, outcome); a withdraw review refuses the person's
// unlock at once.
func TestSEC_HAB_3_SEC_HAB_6_EnrolmentDecisionAndReview(t *testing.T) {
	ctx := context.Background()
	st := newRing(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	admin := open(t, st, keys.ProfileAdmin)
	if _, err := admin.AddOperator(ctx, "carol", keys.ProfileCurator, keys.Authorization{}, []byte("carol's passphrase"), now); err == nil {
		t.Fatal("SEC-HAB-3: enrolled without a decision")
	}
	if _, err := admin.AddOperator(ctx, "dave", keys.ProfileAdmin, keys.Authorization{Decision: "CSE-1"}, []byte("dave's passphrase"), now); err == nil {
		t.Fatal("SEC-HAB-3: an admin enrolled without the line manager")
	}
	if _, err := admin.AddOperator(ctx, "erin", keys.ProfileCurator, keys.Authorization{Decision: "CSE-2\nforged"}, []byte("erin's passphrase"), now); err == nil {
		t.Fatal("a decision reference with a line break accepted")
	}
	carol, err := admin.AddOperator(ctx, "carol", keys.ProfileCurator, keys.Authorization{Decision: "CSE-2026-015"}, []byte("carol's passphrase"), now)
	if err != nil || carol.Authorization.Decision != "CSE-2026-015" || !carol.LastReviewed().Equal(now) {
		t.Fatalf("%v %+v", err, carol)
	}
	cur := open(t, st, keys.ProfileCurator)
	rv := keys.OperatorReview{Time: now.AddDate(1, 0, 0), Reviewer: "LH-USR-admin", Outcome: keys.ReviewKeep, Note: "still on the project"}
	if _, err := cur.ReviewOperator(ctx, "carol", rv); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("a curator records a review: %v", err)
	}
	self := rv
	self.Reviewer = carol.ID
	if _, err := admin.ReviewOperator(ctx, "carol", self); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("carol reviews her own access: %v", err)
	}
	got, err := admin.ReviewOperator(ctx, "carol", rv)
	if err != nil || len(got.Reviews) != 1 || !got.LastReviewed().Equal(rv.Time) || got.Reviews[0].Reviewer != "LH-USR-admin" {
		t.Fatalf("%v %+v", err, got)
	}
	if _, err := OpenOperator(ctx, st, "carol", []byte("carol's passphrase")); err != nil {
		t.Fatal(err)
	}
	rv.Outcome, rv.Time = keys.ReviewWithdraw, rv.Time.Add(time.Hour)
	if got, err = admin.ReviewOperator(ctx, "carol", rv); err != nil || got.Removed.IsZero() {
		t.Fatalf("%v %+v", err, got)
	}
	if _, err := OpenOperator(ctx, st, "carol", []byte("carol's passphrase")); !errors.Is(err, keys.ErrBadCredentials) {
		t.Fatalf("SEC-HAB-6: a withdrawn operator unlocks: %v", err)
	}
	dir, _ := admin.Directory().Operator(ctx, carol.ID)
	if len(dir.Reviews) != 2 || dir.Authorization.Decision != "CSE-2026-015" {
		t.Fatalf("the directory lost the decision or the reviews: %+v", dir)
	}
}
