package vault_test

import (
	"context"
	"strings"
	"testing"

	"hdw/configs/vault"
	"hdw/keys"
	"hdw/keys/keystest"
	hv "hdw/keys/vault"
)

// TestConformanceVault runs keystest.Conformance with one AppRole login per
// profile against the real server: Vault's policies, not only our code,
// return 403 -> keys.ErrForbidden (SEC-LOG-4, SEC-LOG-5, SEC-LOG-6, SEC-HAB-2).
func TestConformanceVault(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	create(t, e.login(t, keys.ProfileAdmin), keys.Health, keys.Identity, keys.Genetic, keys.AuditStore, keys.PseudoWarehouse,
		keys.PseudoProfessional, keys.PseudoOpposition, keys.Audit)
	keystest.Conformance(t, func(t *testing.T, profile string) keys.Provider {
		t.Helper()
		if p, ok := strings.CutPrefix(profile, "researcher:"); ok {
			if err := hv.SetupResearcher(ctx, e.root, e.warehouse, p, vault.Policies); err != nil {
				t.Fatal(err)
			}
		}
		return e.login(t, profile)
	})
}
