package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hdw/internal/testenv"
	"hdw/keys"
	"hdw/pipeline"
)

func vaultEnv(t *testing.T) (addr, rootTokenFile string) {
	t.Helper()
	addr = testenv.Env(t, "HDW_VAULT_ADDR", "make test starts scripts/vault-server.sh")
	return addr, os.Getenv("HDW_VAULT_ROOT_TOKEN_FILE")
}

// TestVaultIngestEndToEnd runs the backbone ingest with Vault as the key
// provider: setup, init, ingest; the stores are readable by the right
// profiles only (SEC-LOG-4, SEC-LOG-5).
func TestVaultIngestEndToEnd(t *testing.T) {
	addr, rootTok := vaultEnv(t)
	c := newCLI(t)
	name := fmt.Sprintf("e%d", time.Now().UnixNano()%1e9)
	cfg := filepath.Join(c.dir, "hdw.yaml")
	os.WriteFile(cfg, []byte("keys:\n  provider: vault\n  vault:\n    address: "+addr+"\n    warehouse_name: "+name+"\n"), 0o600)
	c.env["HDW_CONFIG"] = cfg
	c.env["HDW_VAULT_TOKEN_FILE"] = rootTok
	c.must(0, "--profile", "admin", "vault", "setup")
	// The admin writes a workspace's researcher policy and AppRole (issue 22 item 6).
	c.must(0, "--profile", "admin", "vault", "setup", "--project", "alpha")
	if _, err := os.Stat(filepath.Join(c.env["HDW_CREDENTIALS"], "vault", "researcher_alpha.role-id")); err != nil {
		t.Fatalf("researcher AppRole credentials: %v", err)
	}
	delete(c.env, "HDW_VAULT_TOKEN_FILE") // from now on: each profile's AppRole
	c.must(0, "init")
	up := demoUpload()
	src := filepath.Join(c.dir, "upload")
	writeUpload(t, src, up)
	out := c.must(3, "--profile", "ingest", "--json", "ingest", src)
	var sum pipeline.Summary
	decodeJSON(t, out, &sum)
	if int(sum.Ingested) != up.Expect.Ingested {
		t.Fatalf("summary %+v", sum)
	}
	ctx := context.Background()
	wh, _ := c.openAs(keys.ProfileIngest)
	cs, _ := wh.Commits(ctx)
	if _, err := wh.DataKey(ctx, cs[0].Batch, keys.Identity); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("ingest AppRole unwrapping identity: %v (want 403)", err)
	}
	cur, _ := c.openAs(keys.ProfileCurator)
	health := decryptPrefix(t, cur, "health/", keys.Health)
	assertNoLeak(t, "decrypted health store (vault)", health, secrets(up))
	if _, err := cur.DataKey(ctx, cs[0].Batch, keys.Identity); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("curator on identity: %v", err)
	}
	dpo, _ := c.openAs(keys.ProfileDPO)
	if _, err := dpo.DataKey(ctx, cs[0].Batch, keys.Identity); err != nil {
		t.Fatalf("dpo on identity: %v", err)
	}
	// Rotation: rotate health, ingest again, read both batches.
	c.must(0, "--profile", "admin", "keys", "rotate", "health")
	up2 := demoUpload()
	src2 := filepath.Join(c.dir, "upload2")
	writeUpload(t, src2, up2)
	os.WriteFile(filepath.Join(src2, "manifest.csv"), []byte(strings.ReplaceAll(readFile(t, filepath.Join(src2, "manifest.csv")), "C50", "C51")), 0o644)
	c.must(3, "--profile", "ingest", "ingest", src2)
	c.must(0, "--profile", "admin", "keys", "rotate", "health", "--min-version", "3")
	cur2, _ := c.openAs(keys.ProfileCurator)
	if len(decryptPrefix(t, cur2, "health/", keys.Health)) == 0 {
		t.Fatal("batches unreadable after rotation and retirement")
	}
	// Vault unreachable: the run stops before writing anything.
	c.env["VAULT_ADDR"] = "http://127.0.0.1:1"
	code, _, errOut := c.run("--profile", "ingest", "ingest", src)
	if code != 1 || !strings.Contains(errOut, "unavailable") {
		t.Fatalf("vault down: exit %d: %s", code, errOut)
	}
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
