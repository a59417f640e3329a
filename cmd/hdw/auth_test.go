package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hdw/audit"
	"hdw/objstore"
)

// TestSRS_089_SEC_DAY_1_FailedUnlocksAndRefusalsCLI: five wrong
// passphrases give five authentication records (profile, command, reason;
// never the passphrase), a growing delay before each new attempt (injected
// sleep), and the sixth attempt is refused at the threshold even with the
// right passphrase, until the admin unlocks; the next session records the
// failures in the trail. A command refused by the profile check is
// recorded too (ENS OP.ACC.1, SEC-DAY-1).
func TestSRS_089_SEC_DAY_1_FailedUnlocksAndRefusalsCLI(t *testing.T) {
	var waits []time.Duration
	c := newCLI(t)
	c.opts = append(c.opts, func(g *globals) { g.authSleep = func(_ context.Context, d time.Duration) { waits = append(waits, d) } })
	c.must(0, "init")
	c.env["HDW_PASSPHRASE"] = "not-the-curator-passphrase"
	for i := range 5 {
		if code, _, errOut := c.run("--profile", "curator", "workspace", "list"); code != 1 || !strings.Contains(errOut, "credentials refused") {
			t.Fatalf("attempt %d: exit %d %s", i+1, code, errOut)
		}
	}
	delete(c.env, "HDW_PASSPHRASE")
	st, _ := objstore.NewLocal(c.env["HDW_WAREHOUSE"])
	recs, err := audit.Records(context.Background(), st, "curator")
	if err != nil || len(recs) != 5 {
		t.Fatalf("five wrong passphrases, %d records: %v", len(recs), err)
	}
	for _, r := range recs {
		if r.Kind != audit.AuthFailed || r.Profile != "curator" || r.Command != "workspace list" || r.Reason == "" {
			t.Fatalf("record %+v", r)
		}
	}
	if len(waits) != 4 || waits[0] != time.Second || waits[3] != 8*time.Second {
		t.Fatalf("progressive delays: %v", waits)
	}
	if code, _, errOut := c.run("--profile", "curator", "workspace", "list"); code != 1 || !strings.Contains(errOut, "locked out") {
		t.Fatalf("at the threshold: exit %d %s", code, errOut)
	}
	c.must(0, "--profile", "admin", "operator", "unlock", "curator")
	c.must(0, "--profile", "curator", "workspace", "list")
	// A command refused by the profile check.
	c.run("--profile", "researcher:cardio", "audit", "review")
	refused, _ := audit.Records(context.Background(), st, "researcher:cardio")
	if len(refused) != 1 || refused[0].Kind != audit.AuthRefused || refused[0].Command != "audit review" {
		t.Fatalf("refusal records: %+v", refused)
	}
	trail := string(auditPlain(t, c))
	if !strings.Contains(trail, `"auth.unlock"`) {
		t.Error("the unlock is not in the trail")
	}
	assertNoLeak(t, "authentication records", readPrefix(t, c, "audit/auth/"), []string{"not-the-curator-passphrase"})
}

// TestSRS_089_LockoutFromSealedPolicy: the lock-out threshold comes from the
// admin's sealed policy (here 2), not from a file the locked person edits.
func TestSRS_089_LockoutFromSealedPolicy(t *testing.T) {
	c := newCLI(t)
	c.opts = append(c.opts, func(g *globals) { g.authSleep = func(context.Context, time.Duration) {} })
	c.must(0, "init")
	pf := filepath.Join(c.dir, "policy.yaml")
	os.WriteFile(pf, []byte("lockout_threshold: 2\n"), 0o600)
	c.must(0, "--profile", "admin", "policy", "set", pf)
	c.env["HDW_PASSPHRASE"] = "wrong passphrase"
	c.must(1, "--profile", "dpo", "workspace", "list")
	c.must(1, "--profile", "dpo", "workspace", "list")
	delete(c.env, "HDW_PASSPHRASE")
	if code, _, errOut := c.run("--profile", "dpo", "workspace", "list"); code != 1 || !strings.Contains(errOut, "locked out") {
		t.Fatalf("third attempt under a sealed threshold of 2: exit %d %s", code, errOut)
	}
}
