package vault_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"hdw/internal/testenv"
	"hdw/keys"
	hv "hdw/keys/vault"
)

// loggedIn checks that p holds a working token of the profile's policy.
func loggedIn(t *testing.T, p *hv.Provider) {
	t.Helper()
	if _, err := p.Operator(context.Background()); err != nil {
		t.Fatalf("the token does not work: %v", err)
	}
}

// TestVaultTokenConventions (issue 22 item 6): VAULT_TOKEN and the token
// helper's ~/.vault-token log in, as the Vault CLI's users expect.
func TestVaultTokenConventions(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	pol := hv.PolicyName(e.warehouse, keys.ProfileIngest)
	tok, err := e.root.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{Policies: []string{pol}, TTL: "10m", NoParent: true})
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := map[string]string{"VAULT_ADDR": e.addr, "VAULT_TOKEN": tok.Auth.ClientToken, "HOME": home}
	cfg := hv.ConfigFromEnv(func(k string) string { return env[k] })
	cfg.Warehouse, cfg.Profile = e.warehouse, keys.ProfileIngest
	p, err := hv.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("VAULT_TOKEN: %v", err)
	}
	loggedIn(t, p)
	p.Close()

	delete(env, "VAULT_TOKEN")
	if _, err := hv.Open(ctx, withWH(hv.ConfigFromEnv(func(k string) string { return env[k] }), e)); err == nil {
		t.Fatal("no credential at all must fail")
	}
	os.WriteFile(filepath.Join(home, ".vault-token"), []byte(tok.Auth.ClientToken), 0o600)
	p, err = hv.Open(ctx, withWH(hv.ConfigFromEnv(func(k string) string { return env[k] }), e))
	if err != nil {
		t.Fatalf("~/.vault-token: %v", err)
	}
	loggedIn(t, p)
	p.Close()
}

func withWH(c hv.Config, e *env) hv.Config {
	c.Warehouse, c.Profile = e.warehouse, keys.ProfileIngest
	return c
}

// es256 signs claims as a compact JWT with key (ES256: r||s).
func es256(t *testing.T, key *ecdsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	in := enc(map[string]string{"alg": "ES256", "typ": "JWT"}) + "." + enc(claims)
	h := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestVaultJWTLogin (issue 22 item 6): a service logs in with a signed JWT
// (the JWT/OIDC auth method at its own mount path) and gets the profile's
// policy from the real server; a token signed by another key is refused.
func TestVaultJWTLogin(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	mount := "jwt-" + e.warehouse
	if err := e.root.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &api.EnableAuthOptions{Type: "jwt"}); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if _, err := e.root.Logical().WriteWithContext(ctx, "auth/"+mount+"/config", map[string]any{"jwt_validation_pubkeys": []string{pub}}); err != nil {
		t.Fatal(err)
	}
	pol := hv.PolicyName(e.warehouse, keys.ProfileIngest)
	if _, err := e.root.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/ingest", map[string]any{
		"role_type": "jwt", "bound_audiences": []string{"hdw"}, "user_claim": "sub", "token_policies": []string{pol}, "token_ttl": "10m"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := map[string]any{"sub": "ci-ingest-job", "aud": "hdw", "iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	f := filepath.Join(e.dir, "jwt")
	os.WriteFile(f, []byte(es256(t, key, claims)), 0o600)
	cfg := hv.Config{Address: e.addr, AuthMethod: hv.AuthJWT, AuthMount: mount, AuthRole: "ingest", JWTFile: f, Warehouse: e.warehouse, Profile: keys.ProfileIngest}
	p, err := hv.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("jwt login: %v", err)
	}
	loggedIn(t, p)
	p.Close()
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	os.WriteFile(f, []byte(es256(t, other, claims)), 0o600)
	if _, err := hv.Open(ctx, cfg); err == nil {
		t.Fatal("a JWT signed by another key logged in")
	}
}

// TestVaultKubernetesLogin (issue 22 item 6): a Kubernetes Job logs in with
// its service account token through the kubernetes auth method of the
// real Vault server; the cluster's TokenReview API is played by a local
// server that accepts one service account.
func TestVaultKubernetesLogin(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	const ns, sa, uid = "hdw", "hdw-ingest", "6f1c2a9e-0000-4000-8000-000000000001"
	review := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Spec struct {
				Token string `json:"token"`
			} `json:"spec"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		ok := strings.Count(in.Spec.Token, ".") == 2
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
			"status": map[string]any{"authenticated": ok, "user": map[string]any{
				"username": "system:serviceaccount:" + ns + ":" + sa, "uid": uid, "groups": []string{"system:serviceaccounts"}}},
		})
	}))
	defer review.Close()
	mount := "k8s-" + e.warehouse
	if err := e.root.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &api.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.root.Logical().WriteWithContext(ctx, "auth/"+mount+"/config", map[string]any{
		"kubernetes_host": review.URL, "disable_local_ca_jwt": true, "token_reviewer_jwt": "reviewer"}); err != nil {
		t.Fatal(err)
	}
	pol := hv.PolicyName(e.warehouse, keys.ProfileIngest)
	if _, err := e.root.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/ingest", map[string]any{
		"bound_service_account_names": []string{sa}, "bound_service_account_namespaces": []string{ns},
		"token_policies": []string{pol}, "token_ttl": "10m"}); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwt := es256(t, key, map[string]any{
		"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:" + ns + ":" + sa,
		"kubernetes.io/serviceaccount/namespace": ns, "kubernetes.io/serviceaccount/service-account.name": sa,
		"kubernetes.io/serviceaccount/service-account.uid": uid})
	f := filepath.Join(e.dir, "sa-token")
	os.WriteFile(f, []byte(jwt), 0o600)
	p, err := hv.Open(ctx, hv.Config{Address: e.addr, AuthMethod: hv.AuthKubernetes, AuthMount: mount, AuthRole: "ingest", JWTFile: f,
		Warehouse: e.warehouse, Profile: keys.ProfileIngest})
	if err != nil {
		t.Fatalf("kubernetes login: %v", err)
	}
	loggedIn(t, p)
	p.Close()
}

// TestVaultReloginBeforeMaxTTL (issue 22 item 6): a token whose max TTL
// runs out during a long run is replaced by a new login; the provider
// keeps working.
func TestVaultReloginBeforeMaxTTL(t *testing.T) {
	e := server(t)
	ctx := context.Background()
	pol := hv.PolicyName(e.warehouse, keys.ProfileIngest)
	role := pol + "-short"
	if _, err := e.root.Logical().WriteWithContext(ctx, "auth/approle/role/"+role, map[string]any{
		"token_policies": []string{pol}, "token_ttl": "2s", "token_max_ttl": "3s", "secret_id_ttl": "0"}); err != nil {
		t.Fatal(err)
	}
	s, err := e.root.Logical().ReadWithContext(ctx, "auth/approle/role/"+role+"/role-id")
	if err != nil {
		t.Fatal(err)
	}
	rid, _ := s.Data["role_id"].(string)
	s, err = e.root.Logical().WriteWithContext(ctx, "auth/approle/role/"+role+"/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(e.dir, "short.sid")
	os.WriteFile(f, []byte(s.Data["secret_id"].(string)), 0o600)
	p, err := hv.Open(ctx, hv.Config{Address: e.addr, RoleID: rid, SecretIDFile: f, Warehouse: e.warehouse, Profile: keys.ProfileIngest})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	deadline := time.Now().Add(30 * time.Second)
	for p.Relogins() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no re-login within 30 s of a 3 s max TTL (%d)", p.Relogins())
		}
		time.Sleep(200 * time.Millisecond)
	}
	loggedIn(t, p) // two max TTLs later, the token still works
}

// TestVaultMutualTLS (issue 22 item 6, SEC-AUT-3): against a real Vault
// server with a TLS listener (vault server -dev-tls), hdw verifies the
// server with the CA it is given, refuses it without, and logs in with a
// client certificate (the cert auth method: mutual TLS).
func TestSEC_AUT_3_VaultMutualTLS(t *testing.T) {
	bin := testenv.Env(t, "HDW_VAULT_BIN", "make test starts scripts/vault-server.sh")
	ctx := context.Background()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	root := "root-" + randomID()
	cmd := exec.Command(bin, "server", "-dev", "-dev-tls", "-dev-tls-cert-dir="+dir, "-dev-listen-address=127.0.0.1:"+itoa(port), "-dev-no-store-token")
	cmd.Env = append(os.Environ(), "VAULT_DEV_ROOT_TOKEN_ID="+root)
	logf, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "https://127.0.0.1:" + itoa(port)
	ca := filepath.Join(dir, "vault-ca.pem")
	var rc *api.Client
	for i := 0; ; i++ {
		if _, err := os.Stat(ca); err == nil {
			if rc, err = hv.NewClient(hv.Config{Address: addr, CACert: ca}); err == nil {
				rc.SetToken(root)
				if _, err = rc.Sys().HealthWithContext(ctx); err == nil {
					break
				}
			}
		}
		if i > 300 {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("vault -dev-tls did not start: %.2000s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Without the CA the server's certificate is not trusted.
	if p, err := hv.Open(ctx, hv.Config{Address: addr, Token: root, Warehouse: "w"}); err == nil {
		if _, err := p.Operator(ctx); err == nil {
			t.Fatal("a server certificate from an unknown CA was trusted")
		}
	}
	// A client CA and certificate of our own; cert auth trusts the CA.
	cliCA, cliCAKey := selfCA(t)
	certPEM, keyPEM := leaf(t, cliCA, cliCAKey)
	os.WriteFile(filepath.Join(dir, "client.pem"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "client-key.pem"), keyPEM, 0o600)
	if err := rc.Sys().EnableAuthWithOptionsWithContext(ctx, "cert", &api.EnableAuthOptions{Type: "cert"}); err != nil {
		t.Fatal(err)
	}
	if err := rc.Sys().PutPolicyWithContext(ctx, "probe", `path "auth/token/lookup-self" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cliCA.Raw})
	if _, err := rc.Logical().WriteWithContext(ctx, "auth/cert/certs/ingest", map[string]any{
		"certificate": string(caPEM), "token_policies": []string{"probe"}, "token_ttl": "10m"}); err != nil {
		t.Fatal(err)
	}
	p, err := hv.Open(ctx, hv.Config{Address: addr, CACert: ca, ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem"),
		AuthMethod: hv.AuthCert, AuthRole: "ingest", Warehouse: "w", Profile: keys.ProfileIngest})
	if err != nil {
		t.Fatalf("mutual TLS login: %v", err)
	}
	loggedIn(t, p)
	p.Close()
	// A client without a certificate cannot use the cert method.
	if _, err := hv.Open(ctx, hv.Config{Address: addr, CACert: ca, AuthMethod: hv.AuthCert, Warehouse: "w"}); err == nil {
		t.Fatal("cert login without a client certificate")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return strings.ToLower(strings.TrimRight(base64.RawURLEncoding.EncodeToString(b), "="))
}

func selfCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hdw test client CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, k
}

func leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certPEM, keyPEM []byte) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hdw-ingest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}
