package indicators_test

import (
	"context"
	"errors"
	"testing"

	"hdw/indicators"
	"hdw/keys/keystest"
	"hdw/objstore"
	"hdw/objstore/storetest"
)

// SEC-EXP-5: a definition is approved by someone other than its author; an
// edited definition is a new submission needing its own approval; records
// that do not verify are refused.
func TestSEC_EXP_5_DefinitionApproval(t *testing.T) {
	ctx := context.Background()
	st := storetest.Local(t, t.TempDir())
	r := &indicators.Registry{St: st, MAC: testMAC("k")}
	d := compile(t, indicators.Definition{Name: "ct-by-dep", Measure: indicators.Count, GroupBy: []string{"department"},
		Filter: "modality == 'CT'"}).Def
	if _, err := r.Submit(ctx, d, "LH-USR-curator", "curator"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(ctx, d, "LH-USR-curator", "curator"); !errors.Is(err, indicators.ErrExist) {
		t.Fatalf("resubmission: %v", err)
	}
	if _, err := r.Approved(ctx, "ct-by-dep"); !errors.Is(err, indicators.ErrNotApproved) {
		t.Fatalf("before approval: %v", err)
	}
	if _, err := r.Decide(ctx, "ct-by-dep", "LH-USR-curator", "approver", true, ""); !errors.Is(err, indicators.ErrSelfApproval) {
		t.Fatalf("self approval: %v", err)
	}
	if _, err := r.Decide(ctx, "ct-by-dep", "LH-USR-manager", "approver", true, ""); err != nil {
		t.Fatal(err)
	}
	e, err := r.Approved(ctx, "ct-by-dep")
	if err != nil || e.Submission.Hash != d.Hash() || e.Approval.Approver != "LH-USR-manager" || e.Approval.ApproverProfile != "approver" {
		t.Fatalf("approved: %+v, %v", e, err)
	}
	// A changed definition is pending again; the approved one stays the one run.
	d2 := d
	d2.Epsilon = 1
	if _, err := r.Submit(ctx, d2, "LH-USR-curator", "curator"); err != nil {
		t.Fatal(err)
	}
	if e, _ := r.Approved(ctx, "ct-by-dep"); e.Submission.Hash != d.Hash() {
		t.Fatal("an unapproved edit became the approved definition")
	}
	// A record sealed with another key does not verify.
	bad := &indicators.Registry{St: st, MAC: testMAC("other")}
	if _, err := bad.Approved(ctx, "ct-by-dep"); !errors.Is(err, indicators.ErrTampered) {
		t.Fatalf("foreign MAC: %v", err)
	}
}

// SEC-EXP-5: with enrolled operators, the definition is signed by its
// author and the approval by the manager, each with their own key; an
// approval signed by anyone else (the author holding the MAC key
// included) does not verify.
func TestSEC_EXP_5_ApprovalSignedByApprover(t *testing.T) {
	ctx := context.Background()
	st := storetest.Local(t, t.TempDir())
	dir := keystest.Directory{}
	author, manager := newSigner(t, "LH-USR-author", dir), newSigner(t, "LH-USR-manager", dir)
	d := compile(t, indicators.Definition{Name: "signed", Measure: indicators.Count}).Def
	reg := func(s indicators.Signer) *indicators.Registry {
		return &indicators.Registry{St: st, MAC: testMAC("k"), Signer: s, Dir: dir}
	}
	if _, err := reg(author).Submit(ctx, d, "", "curator"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg(author).Decide(ctx, "signed", "", "approver", true, ""); !errors.Is(err, indicators.ErrSelfApproval) {
		t.Fatalf("self approval: %v", err)
	}
	// The author forges an approval in the manager's name with their own key.
	forger := keystest.Signer{ID: "LH-USR-manager", Key: author.Key}
	if _, err := reg(forger).Decide(ctx, "signed", "", "approver", true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := reg(nil).Approved(ctx, "signed"); !errors.Is(err, indicators.ErrTampered) {
		t.Fatalf("forged approval: %v", err)
	}
	_ = manager
	// Without a directory a signed record does not verify either.
	noDir := &indicators.Registry{St: st, MAC: testMAC("k")}
	if _, err := noDir.Entries(ctx, "signed"); !errors.Is(err, indicators.ErrTampered) {
		t.Fatalf("no directory: %v", err)
	}
}

// The manager's own signature verifies.
func TestApprovalSignedVerifies(t *testing.T) {
	ctx := context.Background()
	st, _ := objstore.NewLocal(t.TempDir())
	dir := keystest.Directory{}
	author, manager := newSigner(t, "LH-USR-author", dir), newSigner(t, "LH-USR-manager", dir)
	d := compile(t, indicators.Definition{Name: "signed", Measure: indicators.Count}).Def
	r := &indicators.Registry{St: st, MAC: testMAC("k"), Signer: author, Dir: dir}
	if _, err := r.Submit(ctx, d, "", "curator"); err != nil {
		t.Fatal(err)
	}
	r.Signer = manager
	if _, err := r.Decide(ctx, "signed", "", "approver", true, ""); err != nil {
		t.Fatal(err)
	}
	e, err := (&indicators.Registry{St: st, MAC: testMAC("k"), Dir: dir}).Approved(ctx, "signed")
	if err != nil || e.Approval.Approver != "LH-USR-manager" || len(e.Approval.Sig) == 0 || len(e.Submission.Sig) == 0 {
		t.Fatalf("%+v %v", e, err)
	}
}
