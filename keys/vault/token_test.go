package vault_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hv "hdw/keys/vault"
)

// TestSEC_RES_3_VaultTokenConventions: VAULT_TOKEN and ~/.vault-token (the
// Vault CLI's conventions) log in against the real server when no hdw
// credential is set; a plain-http address to a host other than loopback is
// refused unless HDW_VAULT_ALLOW_HTTP=1 (issue 22, item 6).
func TestSEC_RES_3_VaultTokenConventions(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"VAULT_ADDR": "http://10.0.0.7:8200", "HOME": home}
	getenv := func(k string) string { return env[k] }
	c := hv.ConfigFromEnv(getenv)
	if _, err := hv.NewClient(c); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("plain http to a remote host: %v", err)
	}
	env["HDW_VAULT_ALLOW_HTTP"] = "1"
	if _, err := hv.NewClient(hv.ConfigFromEnv(getenv)); err != nil {
		t.Fatalf("explicitly allowed http: %v", err)
	}
	if c.TokenHelperFile != filepath.Join(home, ".vault-token") {
		t.Fatalf("token helper file %q", c.TokenHelperFile)
	}

	e := server(t)
	ctx := context.Background()
	tok, err := os.ReadFile(os.Getenv("HDW_VAULT_ROOT_TOKEN_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	root := strings.TrimSpace(string(tok))
	env = map[string]string{"VAULT_ADDR": e.addr, "HOME": home, "VAULT_TOKEN": root}
	c = hv.ConfigFromEnv(getenv)
	c.Warehouse, c.Profile = e.warehouse, "admin"
	if strings.Contains(c.GoString(), root) {
		t.Fatal("the config prints the token")
	}
	p, err := hv.Open(ctx, c)
	if err != nil {
		t.Fatalf("VAULT_TOKEN: %v", err)
	}
	if _, err := p.Operator(ctx); err != nil {
		t.Fatalf("VAULT_TOKEN lookup-self: %v", err)
	}
	p.Close()
	delete(env, "VAULT_TOKEN")
	os.WriteFile(filepath.Join(home, ".vault-token"), []byte(root+"\n"), 0o600)
	c = hv.ConfigFromEnv(getenv)
	c.Warehouse, c.Profile = e.warehouse, "admin"
	p, err = hv.Open(ctx, c)
	if err != nil {
		t.Fatalf("~/.vault-token: %v", err)
	}
	if _, err := p.Operator(ctx); err != nil {
		t.Fatalf("~/.vault-token lookup-self: %v", err)
	}
	p.Close()
}
