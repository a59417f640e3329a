package vault_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	hv "hdw/keys/vault"
)

// vaultBinary is the Vault test server built by scripts/vault-server.sh.
func vaultBinary(t *testing.T) string {
	t.Helper()
	b := os.Getenv("HDW_VAULT_BIN")
	if b == "" {
		home, _ := os.UserHomeDir()
		b = filepath.Join(home, ".cache", "hdw", "vault-1.21.0", "vault")
	}
	if _, err := os.Stat(b); err != nil {
		if os.Getenv("HDW_DISALLOW_SKIP") == "1" {
			t.Fatal("no Vault binary: make test builds it (scripts/vault-server.sh build)")
		}
		t.Skip("no Vault binary (scripts/vault-server.sh build)")
	}
	return b
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// certPair writes a certificate signed by ca (self-signed when ca is nil)
// and its key, PEM, under dir/name.{pem,key}.
func certPair(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA, server bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true}
	if isCA {
		tpl.KeyUsage = x509.KeyUsageCertSign
	} else if server {
		tpl.ExtKeyUsage, tpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	parent, signer := tpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	return c, key
}

// TestSEC_AUT_3_VaultMutualTLS: a real Vault server with a TLS listener
// that requires a client certificate (tls_require_and_verify_client_cert):
// hdw connects with VAULT_CACERT, VAULT_CLIENT_CERT and VAULT_CLIENT_KEY
// (SEC-AUT-3: automatic flows mutually authenticated), and without a
// client certificate, or with one from another CA, it is refused.
func TestSEC_AUT_3_VaultMutualTLS(t *testing.T) {
	bin := vaultBinary(t)
	dir := t.TempDir()
	ca, caKey := certPair(t, dir, "ca", nil, nil, true, false)
	certPair(t, dir, "server", ca, caKey, false, true)
	certPair(t, dir, "client", ca, caKey, false, false)
	other, otherKey := certPair(t, dir, "other-ca", nil, nil, true, false)
	certPair(t, dir, "stranger", other, otherKey, false, false)
	dev, tlsPort := freePort(t), freePort(t)
	for tlsPort == dev+1 || tlsPort+1 == dev {
		tlsPort = freePort(t)
	}
	hcl := fmt.Sprintf(`listener "tcp" {
  address = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_cert_file = %q
  tls_key_file = %q
  tls_client_ca_file = %q
  tls_require_and_verify_client_cert = true
}
`, tlsPort, freePort(t), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.pem"))
	os.WriteFile(filepath.Join(dir, "tls.hcl"), []byte(hcl), 0o600)
	rb := make([]byte, 16)
	rand.Read(rb)
	root := hex.EncodeToString(rb)
	cmd := exec.Command(bin, "server", "-dev", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", dev), "-dev-no-store-token", "-config="+filepath.Join(dir, "tls.hcl"))
	cmd.Env = append(os.Environ(), "VAULT_DEV_ROOT_TOKEN_ID="+root)
	logf, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	ctx := context.Background()
	cfg := hv.Config{Address: fmt.Sprintf("https://127.0.0.1:%d", tlsPort), CACert: filepath.Join(dir, "ca.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client.key"),
		Token: root, Warehouse: "mtls", Profile: keys.ProfileAdmin}
	var p *hv.Provider
	var err error
	for range 150 { // the server is starting: wait for its listener
		if p, err = hv.Open(ctx, cfg); err == nil {
			if _, err = p.Operator(ctx); err == nil {
				break
			}
			p.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("mutual TLS login: %v\n%s", err, b)
	}
	p.Close()
	for name, c := range map[string]hv.Config{
		"no client certificate":         {Address: cfg.Address, CACert: cfg.CACert, Token: root, Warehouse: "mtls"},
		"a certificate from another CA": {Address: cfg.Address, CACert: cfg.CACert, ClientCert: filepath.Join(dir, "stranger.pem"), ClientKey: filepath.Join(dir, "stranger.key"), Token: root, Warehouse: "mtls"},
	} {
		q, err := hv.Open(ctx, c)
		if err == nil {
			_, err = q.Operator(ctx)
			q.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "vault") {
			t.Errorf("%s: %v, want a refused TLS handshake", name, err)
		}
	}
}
