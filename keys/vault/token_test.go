package vault_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"hdw/keys"
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

// TestIssue22_VaultJWTLogin: a batch job (a Kubernetes Job's projected
// service-account token, a CI workload identity) logs in with a JWT at a
// configurable mount path and gets its profile's policy: the ingest role
// wraps for the identity store and is refused unwrapping it; a JWT for
// another audience is refused (keys.ErrBadCredentials).
func TestIssue22_VaultJWTLogin(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	mount := "jwt-" + e.warehouse
	if err := e.root.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &api.EnableAuthOptions{Type: "jwt"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.root.Logical().WriteWithContext(ctx, "auth/"+mount+"/config", map[string]any{
		"jwt_validation_pubkeys": []string{pemKey}, "bound_issuer": "https://k8s.example.invalid"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.root.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/ingest-job", map[string]any{
		"role_type": "jwt", "bound_audiences": []string{"hdw"}, "user_claim": "sub",
		"token_policies": []string{hv.PolicyName(e.warehouse, keys.ProfileIngest)}, "token_ttl": "10m"}); err != nil {
		t.Fatal(err)
	}
	admin := e.login(t, keys.ProfileAdmin)
	if err := admin.CreateKey(ctx, keys.Identity); err != nil {
		t.Fatal(err)
	}
	jwtFile := func(aud string) string {
		now := time.Now().Unix()
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT"}`))
		c, _ := json.Marshal(map[string]any{"iss": "https://k8s.example.invalid", "aud": aud, "sub": "system:serviceaccount:hdw:ingest",
			"iat": now, "nbf": now - 5, "exp": now + 300})
		msg := h + "." + base64.RawURLEncoding.EncodeToString(c)
		d := sha256.Sum256([]byte(msg))
		r, s, _ := ecdsa.Sign(rand.Reader, priv, d[:])
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		f := filepath.Join(t.TempDir(), "token")
		os.WriteFile(f, []byte(msg+"."+base64.RawURLEncoding.EncodeToString(sig)), 0o600)
		return f
	}
	cfg := hv.Config{Address: e.addr, Warehouse: e.warehouse, Profile: keys.ProfileIngest,
		AuthMethod: "kubernetes", AuthMount: mount, AuthRole: "ingest-job", JWTFile: jwtFile("hdw")}
	p, err := hv.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("jwt login: %v", err)
	}
	defer p.Close()
	dk, err := p.NewDataKeys(ctx, keys.Identity, 1)
	if err != nil {
		t.Fatalf("ingest job wraps identity: %v", err)
	}
	if _, err := p.Unwrap(ctx, keys.Identity, [][]byte{dk[0].Wrapped}); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("ingest job unwraps identity: %v", err)
	}
	cfg.JWTFile = jwtFile("someone-else")
	if _, err := hv.Open(ctx, cfg); !errors.Is(err, keys.ErrBadCredentials) {
		t.Fatalf("a JWT for another audience: %v", err)
	}
}

// TestIssue22_VaultRelogin: when the token can no longer be renewed (its
// max TTL during a long ingest), the provider logs in again with its
// AppRole and keeps working with a new token; a provider opened with a
// fixed token says it cannot (keys.ErrUnavailable) instead of failing
// later with a refusal.
func TestIssue22_VaultRelogin(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	admin := e.login(t, keys.ProfileAdmin)
	if err := admin.CreateKey(ctx, keys.Health); err != nil {
		t.Fatal(err)
	}
	p := e.login(t, keys.ProfileIngest)
	before := hv.Client(p).Token()
	if err := p.Relogin(ctx); err != nil {
		t.Fatalf("relogin: %v", err)
	}
	if after := hv.Client(p).Token(); after == before || after == "" {
		t.Fatal("relogin kept the old token")
	}
	if _, err := p.NewDataKeys(ctx, keys.Health, 1); err != nil {
		t.Fatalf("after relogin: %v", err)
	}
	tok, _ := os.ReadFile(os.Getenv("HDW_VAULT_ROOT_TOKEN_FILE"))
	fixed, err := hv.Open(ctx, hv.Config{Address: e.addr, Token: strings.TrimSpace(string(tok)), Warehouse: e.warehouse, Profile: keys.ProfileAdmin})
	if err != nil {
		t.Fatal(err)
	}
	defer fixed.Close()
	if err := fixed.Relogin(ctx); !errors.Is(err, keys.ErrUnavailable) {
		t.Fatalf("relogin with a fixed token: %v", err)
	}
}
