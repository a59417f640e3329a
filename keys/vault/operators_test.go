package vault_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	hv "hdw/keys/vault"
)

// asAdministrator opens the admin profile with the Vault administrator's
// token (the one of hdw vault setup): enrolment writes policies and
// identities.
func (e *env) asAdministrator(t *testing.T) *hv.Provider {
	t.Helper()
	p, err := hv.Open(context.Background(), hv.Config{Address: e.addr, Token: e.root.Token(), Warehouse: e.warehouse, Profile: keys.ProfileAdmin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// person logs in as a Vault user would (vault login -method=userpass)
// and opens profile with the token.
func (e *env) person(t *testing.T, name, password, profile string) (*hv.Provider, error) {
	t.Helper()
	ctx := context.Background()
	c, _ := hv.NewClient(hv.Config{Address: e.addr})
	s, err := c.Logical().WriteWithContext(ctx, "auth/userpass/login/"+name, map[string]any{"password": password})
	if err != nil {
		return nil, err
	}
	p, err := hv.Open(ctx, hv.Config{Address: e.addr, Token: s.Auth.ClientToken, Warehouse: e.warehouse, Profile: profile})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { p.Close() })
	return p, nil
}

// curator logs the person name in as a curator and opens their operator
// signer.
func (e *env) curator(t *testing.T, name, password string) (*hv.Provider, *hv.OperatorSigner) {
	t.Helper()
	p, err := e.person(t, name+"."+e.warehouse, password, keys.ProfileCurator)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.OpenOperator(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

// TestENS_OP_ACC_1_SWR_009_VaultOperators: on the real Vault, the admin
// enrols two curators; each logs in with their own userpass credentials,
// acts with the curator's rights and signs with their own transit key
// (verified by the directory's public key), cannot sign with the other's
// key nor write the directory; a curator's AppRole (a service) is no
// operator; a removed operator can neither log in nor sign with a token
// issued before, and their past signature still verifies; a review
// (SEC-HAB-5) records keep, refuses one's own, and withdraws at once.
func TestENS_OP_ACC_1_SWR_009_VaultOperators(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	adm := e.asAdministrator(t)
	if err := adm.CreateKey(ctx, keys.Health); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	auth := keys.Authorization{Decision: "CSE-2026-01"}
	alice, err := adm.AddOperator(ctx, "alice", keys.ProfileCurator, auth, hv.Login{Mount: "userpass", Name: "alice." + e.warehouse, Password: []byte("alice-pass-1")}, now)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := adm.AddOperator(ctx, "bob", keys.ProfileCurator, auth, hv.Login{Mount: "userpass", Name: "bob." + e.warehouse, Password: []byte("bob-pass-12")}, now)
	if err != nil {
		t.Fatal(err)
	}
	if alice.ID == bob.ID || !strings.HasPrefix(alice.ID, "LH-USR-") {
		t.Fatalf("two people, two ids: %s %s", alice.ID, bob.ID)
	}
	// A login already bound (here: bob's) is refused, not merged.
	if _, err := adm.AddOperator(ctx, "dave", keys.ProfileCurator, auth, hv.Login{Mount: "userpass", Name: "bob." + e.warehouse, Password: []byte("dave-pass-12")}, now); err == nil || !strings.Contains(err.Error(), "already bound") {
		t.Fatalf("a bound login reused: %v", err)
	}
	if _, err := adm.AddOperator(ctx, "alice", keys.ProfileCurator, auth, hv.Login{Mount: "userpass", Name: "alice2." + e.warehouse, Password: []byte("alice-pass-2")}, now); err == nil {
		t.Fatal("a name enrolled twice")
	}
	// The admin's AppRole (its own policy) cannot enrol: policies and
	// identities need the Vault administrator's token.
	if _, err := e.login(t, keys.ProfileAdmin).AddOperator(ctx, "carol", keys.ProfileCurator, auth, hv.Login{Mount: "userpass", Name: "carol." + e.warehouse, Password: []byte("carol-pass-1")}, now); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("admin AppRole enrolled: %v", err)
	}
	// No self-registration: a curator cannot enrol.
	cur := e.login(t, keys.ProfileCurator)
	if _, err := cur.AddOperator(ctx, "mallory", keys.ProfileCurator, auth, hv.Login{Mount: "userpass", Name: "mallory." + e.warehouse, Password: []byte("mallory-pass")}, now); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("a curator enrolled: %v", err)
	}
	if _, err := cur.OpenOperator(ctx); !errors.Is(err, keys.ErrOperatorNotFound) {
		t.Fatalf("an AppRole token is a service, not an operator: %v", err)
	}

	pa, sa := e.curator(t, "alice", "alice-pass-1")
	if sa.OperatorID() != alice.ID {
		t.Fatalf("alice's token signs as %s", sa.OperatorID())
	}
	msg := []byte("export approval")
	sig, err := sa.Sign(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pa.Directory().Operator(ctx, alice.ID)
	if err != nil || !ed25519.Verify(got.PublicKey, msg, sig) {
		t.Fatalf("alice's signature does not verify with the directory's key: %v", err)
	}
	// The person has the curator's rights through their entity.
	if _, err := pa.NewDataKeys(ctx, keys.Health, 1); err != nil {
		t.Fatalf("alice as curator: %v", err)
	}
	if _, err := pa.NewDataKeys(ctx, keys.Identity, 1); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("alice wraps identity: %v", err)
	}
	// Alice cannot sign with bob's key nor write the directory.
	ca := hv.Client(pa)
	if _, err := ca.Logical().Write("transit/sign/"+hv.OperatorKeyName(e.warehouse, bob.ID), map[string]any{"input": "eA=="}); err == nil {
		t.Fatal("alice signed with bob's key")
	}
	if _, err := ca.Logical().Write("hdw/data/"+e.warehouse+"/operators/"+alice.ID, map[string]any{"data": map[string]any{"entry": "{}"}}); err == nil {
		t.Fatal("alice wrote the directory")
	}
	if _, err := ca.Logical().Read("transit/export/signing-key/" + hv.OperatorKeyName(e.warehouse, alice.ID)); err == nil {
		t.Fatal("alice exported her private key")
	}

	_, sb := e.curator(t, "bob", "bob-pass-12")
	old, err := sb.Sign(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.RemoveOperator(ctx, "bob", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Sign(ctx, msg); err == nil {
		t.Fatal("a removed operator signed with a token issued before the removal")
	}
	if _, err := e.person(t, "bob."+e.warehouse, "bob-pass-12", keys.ProfileCurator); err == nil {
		t.Fatal("a removed operator logged in")
	}
	ob, err := adm.Directory().Operator(ctx, bob.ID)
	if err != nil || ob.Removed.IsZero() || !ed25519.Verify(ob.PublicKey, msg, old) {
		t.Fatalf("bob's past signature must still verify: %v %+v", err, ob)
	}
	ops, err := pa.Directory().Operators(ctx)
	if err != nil || len(ops) != 2 {
		t.Fatalf("directory: %d operators, %v", len(ops), err)
	}
	if _, err := sa.Sign(ctx, msg); err != nil {
		t.Fatalf("alice still signs: %v", err)
	}
	// Reviews (SEC-HAB-5): kept, then withdrawn (SEC-HAB-6); not one's own.
	rv := keys.OperatorReview{Time: now.Add(2 * time.Hour), Reviewer: "LH-SVC-admin", Outcome: keys.ReviewKeep, Note: "still on the project"}
	if o, err := adm.ReviewOperator(ctx, "alice", rv); err != nil || len(o.Reviews) != 1 {
		t.Fatalf("review keep: %v %+v", err, o)
	}
	if _, err := adm.ReviewOperator(ctx, "alice", keys.OperatorReview{Time: now, Reviewer: alice.ID, Outcome: keys.ReviewKeep, Note: "me"}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("own review: %v", err)
	}
	rv.Outcome, rv.Note = keys.ReviewWithdraw, "left the unit"
	if o, err := adm.ReviewOperator(ctx, "alice", rv); err != nil || o.Removed.IsZero() {
		t.Fatalf("review withdraw: %v %+v", err, o)
	}
	if _, err := sa.Sign(ctx, msg); err == nil {
		t.Fatal("a withdrawn operator signed")
	}
}
