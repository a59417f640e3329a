package vault

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestVaultPlainHTTPRefused: http:// is refused to any host but loopback
// unless explicitly allowed (issue 22 item 6).
func TestVaultPlainHTTPRefused(t *testing.T) {
	for _, c := range []struct {
		addr  string
		allow bool
		ok    bool
	}{
		{"https://vault.example.org:8200", false, true},
		{"http://127.0.0.1:8200", false, true},
		{"http://127.9.9.9:8200", false, true},
		{"http://localhost:8200", false, true},
		{"http://[::1]:8200", false, true},
		{"http://vault.example.org:8200", false, false},
		{"http://10.0.0.5:8200", false, false},
		{"http://vault.example.org:8200", true, true},
		{"", false, true},
	} {
		err := CheckAddress(c.addr, c.allow)
		if (err == nil) != c.ok {
			t.Errorf("%s allow=%v: %v", c.addr, c.allow, err)
		}
		if err != nil && !errors.Is(err, ErrPlainHTTP) {
			t.Errorf("%s: %v is not ErrPlainHTTP", c.addr, err)
		}
	}
	if _, err := Open(t.Context(), Config{Address: "http://vault.example.org:8200", Token: "x", Warehouse: "w"}); !errors.Is(err, ErrPlainHTTP) {
		t.Fatalf("Open over plain http to a remote host: %v", err)
	}
}

// TestVaultAuthPrecedence: the method implied by the credentials at hand,
// in the documented order, and the token's source.
func TestVaultAuthPrecedence(t *testing.T) {
	dir := t.TempDir()
	helper := filepath.Join(dir, ".vault-token")
	file := filepath.Join(dir, "token")
	os.WriteFile(file, []byte("from-file\n"), 0o600)
	for _, c := range []struct {
		name   string
		cfg    Config
		method string
		token  string
	}{
		{"token file first", Config{TokenFile: file, Token: "env", RoleID: "r", SecretIDFile: "s"}, AuthToken, "from-file"},
		{"approle before VAULT_TOKEN", Config{RoleID: "r", SecretIDFile: "s", Token: "env"}, AuthAppRole, ""},
		{"VAULT_TOKEN before the helper", Config{Token: "env", TokenHelperFile: helper}, AuthToken, "env"},
		{"explicit method wins", Config{AuthMethod: AuthJWT, Token: "env"}, AuthJWT, ""},
	} {
		m, err := c.cfg.method()
		if err != nil || m != c.method {
			t.Errorf("%s: method %q %v, want %q", c.name, m, err, c.method)
			continue
		}
		if c.token != "" {
			if tok, err := c.cfg.token(); err != nil || tok != c.token {
				t.Errorf("%s: token %q %v", c.name, tok, err)
			}
		}
	}
	// The helper's file counts only when it exists.
	if _, err := (Config{TokenHelperFile: helper}).method(); err == nil {
		t.Fatal("a missing ~/.vault-token is not a credential")
	}
	os.WriteFile(helper, []byte("from-helper\n"), 0o600)
	cfg := Config{TokenHelperFile: helper}
	if m, err := cfg.method(); err != nil || m != AuthToken {
		t.Fatalf("helper: %q %v", m, err)
	}
	if tok, _ := cfg.token(); tok != "from-helper" {
		t.Fatalf("helper token %q", tok)
	}
	if _, err := (Config{AuthMethod: "ldap"}).method(); err == nil {
		t.Fatal("unknown method accepted")
	}
}
