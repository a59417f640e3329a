package vault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/vault/api"

	"hdw/keys"
)

// Auth methods (issue 22 item 6). Config.AuthMethod names one; empty
// chooses by the credentials at hand, in this order: HDW_VAULT_TOKEN_FILE,
// AppRole (HDW_VAULT_ROLE_ID + HDW_VAULT_SECRET_ID_FILE), VAULT_TOKEN, the
// token helper's file ~/.vault-token (what `vault login` writes), as the
// Vault CLI does for the last two.
const (
	AuthToken      = "token"
	AuthAppRole    = "approle"
	AuthKubernetes = "kubernetes" // a Kubernetes Job's service account (its projected token)
	AuthJWT        = "jwt"        // JWT/OIDC: a signed token from a CI system or an identity provider
	AuthCert       = "cert"       // TLS client certificate (mutual TLS)
)

// ServiceAccountTokenFile is where Kubernetes mounts a pod's service
// account token, the default JWT of the kubernetes method.
const ServiceAccountTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// ErrPlainHTTP refuses a plain http:// Vault address to another host
// than loopback: tokens and key material would cross the network in clear.
var ErrPlainHTTP = errors.New("vault: plain http:// to a non-loopback host refused (use https://, or set HDW_VAULT_ALLOW_HTTP=1 on a network you trust)")

// CheckAddress refuses http:// except to loopback (localhost, 127.0.0.0/8,
// ::1) unless allowHTTP.
func CheckAddress(addr string, allowHTTP bool) error {
	if addr == "" || allowHTTP {
		return nil
	}
	u, err := url.Parse(addr)
	if err != nil {
		return fmt.Errorf("vault address: not a URL (set VAULT_ADDR to https://host:port)")
	}
	if u.Scheme != "http" {
		return nil
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return ErrPlainHTTP
}

// method returns the auth method cfg asks for or implies.
func (cfg Config) method() (string, error) {
	switch cfg.AuthMethod {
	case AuthToken, AuthAppRole, AuthKubernetes, AuthJWT, AuthCert:
		return cfg.AuthMethod, nil
	case "":
	default:
		return "", fmt.Errorf("vault: unknown auth method %q (token, approle, kubernetes, jwt or cert)", cfg.AuthMethod)
	}
	switch {
	case cfg.TokenFile != "":
		return AuthToken, nil
	case cfg.RoleID != "" && cfg.SecretIDFile != "":
		return AuthAppRole, nil
	case cfg.Token != "":
		return AuthToken, nil
	case cfg.TokenHelperFile != "":
		if _, err := os.Stat(cfg.TokenHelperFile); err == nil {
			return AuthToken, nil
		}
	}
	return "", errors.New("vault: no credentials: set HDW_VAULT_TOKEN_FILE, VAULT_TOKEN, AppRole (HDW_VAULT_ROLE_ID and HDW_VAULT_SECRET_ID_FILE), HDW_VAULT_AUTH=kubernetes|jwt|cert with HDW_VAULT_ROLE, or run `vault login` (~/.vault-token)")
}

// token returns the token of the token method: the file named, else
// VAULT_TOKEN, else the token helper's file.
func (cfg Config) token() (string, error) {
	switch {
	case cfg.TokenFile != "":
		t, err := readFile(cfg.TokenFile)
		if err != nil {
			return "", fmt.Errorf("vault token file: %w", err)
		}
		return t, nil
	case cfg.Token != "":
		return cfg.Token, nil
	case cfg.TokenHelperFile != "":
		t, err := readFile(cfg.TokenHelperFile)
		if err != nil {
			return "", fmt.Errorf("vault token helper file: %w", err)
		}
		return t, nil
	}
	return "", errors.New("vault: the token method needs HDW_VAULT_TOKEN_FILE, VAULT_TOKEN or ~/.vault-token")
}

// login authenticates c by cfg's method. It returns the login secret of
// the methods that can log in again (nil for a given token).
func login(ctx context.Context, c *api.Client, cfg Config) (*api.Secret, error) {
	m, err := cfg.method()
	if err != nil {
		return nil, err
	}
	mount := cfg.AuthMount
	if mount == "" {
		mount = m
	}
	var body map[string]any
	switch m {
	case AuthToken:
		t, err := cfg.token()
		if err != nil {
			return nil, err
		}
		c.SetToken(t)
		return nil, nil
	case AuthAppRole:
		sid, err := readFile(cfg.SecretIDFile)
		if err != nil {
			return nil, fmt.Errorf("vault secret id file: %w", err)
		}
		body = map[string]any{"role_id": cfg.RoleID, "secret_id": sid}
	case AuthKubernetes, AuthJWT:
		f := cfg.JWTFile
		if f == "" && m == AuthKubernetes {
			f = ServiceAccountTokenFile
		}
		if f == "" {
			return nil, errors.New("vault jwt login: set HDW_VAULT_JWT_FILE to the file holding the token")
		}
		if cfg.AuthRole == "" {
			return nil, fmt.Errorf("vault %s login: set HDW_VAULT_ROLE to the Vault role", m)
		}
		jwt, err := readFile(f)
		if err != nil {
			return nil, fmt.Errorf("vault %s login: token file: %w", m, err)
		}
		body = map[string]any{"role": cfg.AuthRole, "jwt": jwt}
	case AuthCert:
		if cfg.ClientCert == "" {
			return nil, errors.New("vault cert login: set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY")
		}
		body = map[string]any{}
		if cfg.AuthRole != "" {
			body["name"] = cfg.AuthRole
		}
	}
	c.SetToken("")
	s, err := c.Logical().WriteWithContext(ctx, "auth/"+mount+"/login", body)
	if err != nil {
		return nil, mapErr(err, m+" login")
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return nil, keys.ErrBadCredentials
	}
	c.SetToken(s.Auth.ClientToken)
	return s, nil
}

// keepAlive renews the login's token while it can, and logs in again
// before its max TTL runs out (the watcher returns at re-authentication
// time), for as long as ctx lives: a long ingest outlives a 24 h token.
// A failed re-login is retried with backoff and recorded; the next Vault
// call then fails with it.
func (p *Provider) keepAlive(ctx context.Context, s *api.Secret) {
	backoff := time.Second
	for {
		w, err := p.c.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: s})
		if err != nil {
			p.setRenewErr(err)
			return
		}
		go w.Start()
		select {
		case <-ctx.Done():
			w.Stop()
			return
		case <-w.DoneCh():
		}
		w.Stop()
		for {
			ns, err := login(ctx, p.c, p.cfg)
			if err == nil {
				s, backoff = ns, time.Second
				p.setRenewErr(nil)
				p.mu.Lock()
				p.relogins++
				p.mu.Unlock()
				break
			}
			p.setRenewErr(err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
		}
	}
}

func (p *Provider) setRenewErr(err error) {
	p.mu.Lock()
	p.renewEr = err
	p.mu.Unlock()
}

// Relogins reports how many times the provider logged in again (tests).
func (p *Provider) Relogins() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.relogins
}

// TokenHelperFile returns the token helper's file under home
// (~/.vault-token), or "" without a home.
func TokenHelperFile(home string) string {
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".vault-token")
}
