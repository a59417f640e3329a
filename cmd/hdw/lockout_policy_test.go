package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSRS_089_LockoutFromSealedPolicy: the lock-out threshold is the sealed
// policy's (issue 21): with lockout_threshold 2, the third attempt is
// locked out even with the right passphrase.
func TestSRS_089_LockoutFromSealedPolicy(t *testing.T) {
	testOnlyAuthSleep = func(context.Context, time.Duration) {}
	defer func() { testOnlyAuthSleep = nil }()
	c := newCLI(t)
	c.must(0, "init")
	pf := filepath.Join(c.dir, "policy.yaml")
	os.WriteFile(pf, []byte("lockout_threshold: 2\n"), 0o600)
	c.must(0, "--profile", "admin", "policy", "set", pf)
	c.env["HDW_PASSPHRASE"] = "wrong"
	for range 2 {
		c.run("--profile", "curator", "workspace", "list")
	}
	delete(c.env, "HDW_PASSPHRASE")
	if code, _, errOut := c.run("--profile", "curator", "workspace", "list"); code != 1 || !strings.Contains(errOut, "locked out") {
		t.Fatalf("after 2 failures with the policy's threshold 2: exit %d %s", code, errOut)
	}
}
