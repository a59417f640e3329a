package main

import (
	"errors"
	"strings"
	"testing"

	"hdw/keys"
)

// TestIssue22_VaultAuditAndGenetic: with Vault as the key provider, the
// trail is sealed under the transit audit key (every AppRole appends),
// only admin and dpo review it (a curator's review is refused), the admin
// alone signs checkpoints (the curator cannot read the checkpoint key:
// 403), and the dpo's AppRole cannot unwrap the genetic store (SEC-LOG-6,
// policy refusal).
func TestIssue22_VaultAuditAndGenetic(t *testing.T) {
	c, _, _ := vaultWarehouse(t, demoUpload(), 3)
	c.must(0, "--profile", "curator", "audit", "verify")
	if code, _, _ := c.run("--profile", "curator", "audit", "review"); code != 1 {
		t.Fatalf("a curator reviews the audit trail: exit %d", code)
	}
	c.must(0, "--profile", "dpo", "audit", "review", "--since", "2020-01-01")
	note := c.must(0, "--profile", "admin", "audit", "checkpoint")
	if !strings.HasPrefix(note, "hdw-audit/") {
		t.Fatalf("checkpoint: %s", note)
	}
	_, cur := c.openAs(keys.ProfileCurator)
	if _, err := cur.PseudonymKey(t.Context(), keys.CheckpointKey); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("curator reads the checkpoint key: %v", err)
	}
	dwh, _ := c.openAs(keys.ProfileDPO)
	cs, _ := dwh.Commits(t.Context())
	if _, err := dwh.DataKey(t.Context(), cs[0].Batch, keys.Genetic); !errors.Is(err, keys.ErrGeneticReserved) {
		t.Fatalf("dpo AppRole on the genetic store: %v (want a policy refusal)", err)
	}
	stored := readPrefix(t, c, "audit/segments/")
	if strings.Contains(string(stored), `"action":"batch.ingest"`) {
		t.Fatal("SRS-091: an event in clear in the Vault-mode trail")
	}
}
