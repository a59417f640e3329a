package keys_test

import (
	"errors"
	"testing"

	"hdw/keys"
)

// TestSEC_HAB_6_OnlyRevocationDestroys checks the access table: only the
// curator destroys keys, and only a workspace's (its revocation); the admin
// creates and rotates every key but destroys none (SEC-LOG-5), as in
// configs/vault/admin.hcl and curator.hcl.
func TestSEC_HAB_6_OnlyRevocationDestroys(t *testing.T) {
	names := []string{keys.Identity, keys.Health, keys.Genetic, keys.Audit, keys.PseudoWarehouse,
		keys.PseudoProfessional, keys.PseudoOpposition, keys.Workspace("a"), keys.PseudoWorkspace("a"), keys.PseudoCohort("c")}
	profiles := []string{keys.ProfileIngest, keys.ProfileCurator, keys.ProfileApprover, keys.ProfileDPO, keys.ProfileAdmin, keys.Researcher("a")}
	for _, prof := range profiles {
		for _, n := range names {
			want := prof == keys.ProfileCurator && (n == keys.Workspace("a") || n == keys.PseudoWorkspace("a"))
			if got := keys.Allowed(prof, keys.OpDestroy, n); got != want {
				t.Errorf("Allowed(%s, destroy, %s) = %v, want %v", prof, n, got, want)
			}
		}
		if prof == keys.ProfileAdmin && !keys.Allowed(prof, keys.OpRotate, keys.Identity) {
			t.Error("admin must rotate the identity key")
		}
	}
	if keys.OpDestroy.String() != "destroy" {
		t.Errorf("OpDestroy.String() = %q", keys.OpDestroy.String())
	}
}

// TestSEC_LOG_6_GeneticKeyProfiles: only ingest (wrap) and curator
// (workspace export: wrap, unwrap) reach the genetic key; the dpo, the
// approver, the admin and researchers do not.
func TestSEC_LOG_6_GeneticKeyProfiles(t *testing.T) {
	for _, prof := range []string{keys.ProfileIngest, keys.ProfileCurator, keys.ProfileApprover, keys.ProfileDPO, keys.ProfileAdmin, keys.Researcher("a")} {
		wrap, unwrap := keys.Allowed(prof, keys.OpWrap, keys.Genetic), keys.Allowed(prof, keys.OpUnwrap, keys.Genetic)
		wantWrap := prof == keys.ProfileIngest || prof == keys.ProfileCurator
		wantUnwrap := prof == keys.ProfileCurator
		if wrap != wantWrap || unwrap != wantUnwrap {
			t.Errorf("%s: wrap %v unwrap %v, want %v %v", prof, wrap, unwrap, wantWrap, wantUnwrap)
		}
	}
	if err := keys.Refusal(keys.Genetic); !errors.Is(err, keys.ErrForbidden) || !errors.Is(err, keys.ErrGeneticReserved) {
		t.Errorf("Refusal(genetic) = %v", err)
	}
}
