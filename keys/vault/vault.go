// Package vault is the HashiCorp Vault provider of keys.Provider
// (github.com/hashicorp/vault/api): store keys are transit keys
// (hdw-<warehouse>-health, -identity, -genetic, -ws-<project>), data keys
// are generated locally and wrapped with transit/encrypt in batches (one
// round trip per 1,000 keys; the ingest policy may encrypt, never
// decrypt), unwrapped with transit/decrypt, rewrapped server-side with
// transit/rewrap. Pseudonym keys are random 256-bit secrets in KV v2
// (hdw/<warehouse>/pseudo/<name>), read only by the profiles whose policy
// allows it (configs/vault/*.hcl) and held in memory. The policies, not
// this code, enforce the separation of ARCHITECTURE §1.
package vault

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/vault/api"

	"hdw/keys"
)

// Config configures the client. Secrets are read from files, never flags.
type Config struct {
	Address      string
	Namespace    string
	CACert       string
	ClientCert   string // mutual TLS (SEC-AUT-3)
	ClientKey    string
	TokenFile    string
	RoleID       string
	SecretIDFile string
	Warehouse    string // warehouse name in key and policy names
	Profile      string
	// AuthMethod is "jwt" or "kubernetes" for a JWT login (a Kubernetes Job's
	// service-account token, an OIDC workload identity): auth/<AuthMount>/login
	// with AuthRole and the JWT read from JWTFile (HDW_VAULT_AUTH,
	// HDW_VAULT_AUTH_MOUNT, HDW_VAULT_AUTH_ROLE, HDW_VAULT_JWT_FILE).
	AuthMethod string
	AuthMount  string // default: the method's name
	AuthRole   string
	JWTFile    string // default for kubernetes: the pod's service-account token
	// Token is VAULT_TOKEN (the Vault CLI's convention), used when no hdw
	// credential (token file, AppRole) is configured. Never printed.
	Token string
	// TokenHelperFile is ~/.vault-token (what `vault login` writes), the
	// last resort.
	TokenHelperFile string
	// AllowHTTP allows a plain-http address to a host other than loopback
	// (HDW_VAULT_ALLOW_HTTP=1); by default only https, or http to
	// 127.0.0.1/::1/localhost (a dev server), is accepted (SEC-RES-3).
	AllowHTTP bool
}

// GoString redacts the token.
func (c Config) GoString() string {
	c.Token = "[redacted]"
	type plain Config
	return fmt.Sprintf("%#v", plain(c))
}

// ConfigFromEnv reads VAULT_ADDR, VAULT_NAMESPACE, VAULT_CACERT,
// VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, HDW_VAULT_TOKEN_FILE,
// HDW_VAULT_ROLE_ID, HDW_VAULT_SECRET_ID_FILE, VAULT_TOKEN, HOME (for
// ~/.vault-token) and HDW_VAULT_ALLOW_HTTP through getenv.
func ConfigFromEnv(getenv func(string) string) Config {
	c := Config{Address: getenv("VAULT_ADDR"), Namespace: getenv("VAULT_NAMESPACE"), CACert: getenv("VAULT_CACERT"),
		ClientCert: getenv("VAULT_CLIENT_CERT"), ClientKey: getenv("VAULT_CLIENT_KEY"), TokenFile: getenv("HDW_VAULT_TOKEN_FILE"),
		RoleID: getenv("HDW_VAULT_ROLE_ID"), SecretIDFile: getenv("HDW_VAULT_SECRET_ID_FILE"), Token: getenv("VAULT_TOKEN"),
		AllowHTTP: getenv("HDW_VAULT_ALLOW_HTTP") == "1", AuthMethod: getenv("HDW_VAULT_AUTH"), AuthMount: getenv("HDW_VAULT_AUTH_MOUNT"),
		AuthRole: getenv("HDW_VAULT_AUTH_ROLE"), JWTFile: getenv("HDW_VAULT_JWT_FILE")}
	if h := getenv("HOME"); h != "" {
		c.TokenHelperFile = filepath.Join(h, ".vault-token")
	}
	return c
}

// checkAddress refuses plain http to anything but loopback unless allowed.
func checkAddress(addr string, allow bool) error {
	u, err := url.Parse(addr)
	if err != nil {
		return fmt.Errorf("vault address: %w", err)
	}
	if u.Scheme != "http" || allow {
		return nil
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("vault address %s is plain http to a non-loopback host: use https (SEC-RES-3), or set HDW_VAULT_ALLOW_HTTP=1 for a test server", u.Host)
}

// Provider implements keys.Provider against Vault.
type Provider struct {
	c       *api.Client
	cfg     Config
	mu      sync.Mutex
	cache   map[string]keys.Secret
	stop    context.CancelFunc
	renewEr error
}

var _ keys.Provider = (*Provider)(nil)

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// NewClient returns a Vault API client for cfg (TLS, namespace), without auth.
func NewClient(cfg Config) (*api.Client, error) {
	vc := api.DefaultConfig()
	if cfg.Address != "" {
		vc.Address = cfg.Address
	}
	if err := checkAddress(vc.Address, cfg.AllowHTTP); err != nil {
		return nil, err
	}
	tc := &api.TLSConfig{CACert: cfg.CACert, ClientCert: cfg.ClientCert, ClientKey: cfg.ClientKey}
	if err := vc.ConfigureTLS(tc); err != nil {
		return nil, fmt.Errorf("vault tls: %w", err)
	}
	if t, ok := vc.HttpClient.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		t.TLSClientConfig.MinVersion = tls.VersionTLS12
	}
	vc.MaxRetries = 2
	c, err := api.NewClient(vc)
	if err != nil {
		return nil, err
	}
	c.SetToken("")
	if cfg.Namespace != "" {
		c.SetNamespace(cfg.Namespace)
	}
	return c, nil
}

// Open authenticates (a JWT or Kubernetes login when AuthMethod is set;
// else a token file, AppRole role id + secret id file, VAULT_TOKEN or
// ~/.vault-token) and
// keeps the token renewed while the run lasts.
func Open(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Warehouse == "" {
		return nil, errors.New("vault: no warehouse name")
	}
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	p := &Provider{c: c, cfg: cfg, cache: map[string]keys.Secret{}}
	var login *api.Secret
	switch {
	case cfg.AuthMethod != "":
		if login, err = jwtLogin(ctx, c, cfg); err != nil {
			return nil, err
		}
		c.SetToken(login.Auth.ClientToken)
	case cfg.TokenFile != "":
		tok, err := readFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("vault token file: %w", err)
		}
		c.SetToken(tok)
	case cfg.RoleID != "" && cfg.SecretIDFile != "":
		if login, err = approleLogin(ctx, c, cfg); err != nil {
			return nil, err
		}
		c.SetToken(login.Auth.ClientToken)
	case cfg.Token != "":
		c.SetToken(cfg.Token) // VAULT_TOKEN
	case cfg.TokenHelperFile != "" && fileExists(cfg.TokenHelperFile):
		tok, err := readFile(cfg.TokenHelperFile) // ~/.vault-token, as `vault login` leaves it
		if err != nil {
			return nil, fmt.Errorf("vault token helper file: %w", err)
		}
		c.SetToken(tok)
	default:
		return nil, errors.New("vault: no credentials: set HDW_VAULT_TOKEN_FILE, or HDW_VAULT_ROLE_ID and HDW_VAULT_SECRET_ID_FILE, or VAULT_TOKEN, or run vault login (~/.vault-token)")
	}
	if login != nil {
		p.watch(login)
	}
	return p, nil
}

func approleLogin(ctx context.Context, c *api.Client, cfg Config) (*api.Secret, error) {
	sid, err := readFile(cfg.SecretIDFile)
	if err != nil {
		return nil, fmt.Errorf("vault secret id file: %w", err)
	}
	login, err := c.Logical().WriteWithContext(ctx, "auth/approle/login", map[string]any{"role_id": cfg.RoleID, "secret_id": sid})
	if err != nil {
		return nil, mapErr(err, "approle login")
	}
	if login == nil || login.Auth == nil {
		return nil, keys.ErrBadCredentials
	}
	return login, nil
}

// watch renews the login's token while the run lasts; when renewal stops
// (the token reached its max TTL during a long ingest, or a renewal
// failed) it logs in again ([Provider.Relogin]) instead of letting the
// next call fail.
func (p *Provider) watch(login *api.Secret) {
	if !login.Auth.Renewable {
		return
	}
	w, err := p.c.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: login})
	if err != nil {
		return
	}
	rctx, cancel := context.WithCancel(context.Background())
	p.mu.Lock()
	if p.stop != nil {
		p.stop()
	}
	p.stop = cancel
	p.mu.Unlock()
	go w.Start()
	go func() {
		defer w.Stop()
		select {
		case <-w.DoneCh():
			if err := p.Relogin(rctx); err != nil && rctx.Err() == nil {
				p.mu.Lock()
				p.renewEr = err
				p.mu.Unlock()
			}
		case <-rctx.Done():
		}
	}()
}

// Relogin logs in again with the configured AppRole or JWT credentials,
// swaps the client's token and restarts its renewal. A provider opened
// with a fixed token (token file, VAULT_TOKEN) cannot log in again: it
// returns an error wrapping keys.ErrUnavailable.
func (p *Provider) Relogin(ctx context.Context) error {
	var login *api.Secret
	var err error
	switch {
	case p.cfg.AuthMethod != "":
		login, err = jwtLogin(ctx, p.c, p.cfg)
	case p.cfg.TokenFile == "" && p.cfg.RoleID != "" && p.cfg.SecretIDFile != "":
		login, err = approleLogin(ctx, p.c, p.cfg)
	default:
		return fmt.Errorf("vault: the token cannot be renewed any more and no login method is configured: %w", keys.ErrUnavailable)
	}
	if err != nil {
		return err
	}
	p.c.SetToken(login.Auth.ClientToken)
	p.mu.Lock()
	p.renewEr = nil
	p.mu.Unlock()
	p.watch(login)
	return nil
}

// ServiceAccountToken is where Kubernetes mounts a pod's service-account token.
const ServiceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// jwtLogin logs in with a JWT (auth method jwt or kubernetes) at a
// configurable mount path.
func jwtLogin(ctx context.Context, c *api.Client, cfg Config) (*api.Secret, error) {
	if cfg.AuthMethod != "jwt" && cfg.AuthMethod != "kubernetes" {
		return nil, fmt.Errorf("vault: unknown auth method %q (jwt or kubernetes)", cfg.AuthMethod)
	}
	if cfg.AuthRole == "" {
		return nil, errors.New("vault: HDW_VAULT_AUTH_ROLE is required with HDW_VAULT_AUTH")
	}
	mount, file := cfg.AuthMount, cfg.JWTFile
	if mount == "" {
		mount = cfg.AuthMethod
	}
	if file == "" && cfg.AuthMethod == "kubernetes" {
		file = ServiceAccountToken
	}
	if file == "" {
		return nil, errors.New("vault: HDW_VAULT_JWT_FILE is required with HDW_VAULT_AUTH=jwt")
	}
	jwt, err := readFile(file)
	if err != nil {
		return nil, fmt.Errorf("vault jwt file: %w", err)
	}
	login, err := c.Logical().WriteWithContext(ctx, "auth/"+strings.Trim(mount, "/")+"/login", map[string]any{"role": cfg.AuthRole, "jwt": jwt})
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) && (re.StatusCode == 400 || re.StatusCode == 403) {
			return nil, fmt.Errorf("vault %s login: %w", cfg.AuthMethod, keys.ErrBadCredentials)
		}
		return nil, mapErr(err, cfg.AuthMethod+" login")
	}
	if login == nil || login.Auth == nil {
		return nil, keys.ErrBadCredentials
	}
	return login, nil
}

// mapErr maps Vault errors to the keys sentinels; it never includes secrets.
func mapErr(err error, op string) error {
	if err == nil {
		return nil
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case 403:
			return fmt.Errorf("vault %s: %w", op, keys.ErrForbidden)
		case 404:
			return fmt.Errorf("vault %s: %w", op, keys.ErrKeyNotFound)
		case 400:
			if strings.Contains(strings.Join(re.Errors, " "), "not found") || strings.Contains(strings.Join(re.Errors, " "), "encryption key not found") {
				return fmt.Errorf("vault %s: %w", op, keys.ErrKeyNotFound)
			}
			if strings.Contains(strings.Join(re.Errors, " "), "invalid role or secret ID") {
				return keys.ErrBadCredentials
			}
		case 500, 502, 503:
			return fmt.Errorf("vault %s: %w (status %d)", op, keys.ErrUnavailable, re.StatusCode)
		}
		return fmt.Errorf("vault %s: status %d", op, re.StatusCode)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &ne) || errors.As(err, &oe) || strings.Contains(err.Error(), "connection refused") || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("vault %s: %w", op, keys.ErrUnavailable)
	}
	return fmt.Errorf("vault %s: %w", op, keys.ErrUnavailable)
}

// refusal names the SEC-LOG-6 reservation when the policy refused the
// genetic store (keys.ErrGeneticReserved, still an keys.ErrForbidden).
func refusal(store string, err error) error {
	if store == keys.Genetic && errors.Is(err, keys.ErrForbidden) {
		return fmt.Errorf("vault: %w", keys.ErrGeneticReserved)
	}
	return err
}

// TransitName returns the transit key of a store key name.
func TransitName(warehouse, store string) string {
	if p, ok := strings.CutPrefix(store, "ws:"); ok {
		return "hdw-" + warehouse + "-ws-" + p
	}
	return "hdw-" + warehouse + "-" + store
}

// KVName returns the KV v2 path suffix of a pseudonym key name.
func KVName(name string) string {
	n := strings.TrimPrefix(name, "pseudo:")
	n = strings.Replace(n, "ws:", "ws-", 1)
	return strings.Replace(n, "cohort:", "cohort-", 1)
}

func (p *Provider) kvPath(name string) string {
	return "hdw/data/" + p.cfg.Warehouse + "/pseudo/" + KVName(name)
}

// Profile implements keys.Provider.
func (p *Provider) Profile() string { return p.cfg.Profile }

// Operator implements keys.Provider: the token's entity id (or accessor).
func (p *Provider) Operator(ctx context.Context) (string, error) {
	s, err := p.c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return "", mapErr(err, "token lookup")
	}
	if id, _ := s.Data["entity_id"].(string); id != "" {
		return "LH-SVC-" + id, nil
	}
	acc, _ := s.Data["accessor"].(string)
	return "LH-SVC-vault-" + acc, nil
}

const batch = 1000

// NewDataKeys implements keys.Provider: random DEKs wrapped with
// transit/encrypt in batches.
func (p *Provider) NewDataKeys(ctx context.Context, store string, n int) ([]keys.DataKey, error) {
	out := make([]keys.DataKey, 0, n)
	for len(out) < n {
		m := min(batch, n-len(out))
		in := make([]map[string]any, m)
		ks := make([]keys.Secret, m)
		for i := range in {
			ks[i] = keys.RandomSecret()
			in[i] = map[string]any{"plaintext": base64.StdEncoding.EncodeToString(ks[i].Bytes())}
		}
		s, err := p.c.Logical().WriteWithContext(ctx, "transit/encrypt/"+TransitName(p.cfg.Warehouse, store), map[string]any{"batch_input": in})
		if err != nil {
			return nil, refusal(store, mapErr(err, "encrypt"))
		}
		res, _ := s.Data["batch_results"].([]any)
		if len(res) != m {
			return nil, fmt.Errorf("vault encrypt: %d results for %d keys", len(res), m)
		}
		for i, r := range res {
			rm, _ := r.(map[string]any)
			ct, _ := rm["ciphertext"].(string)
			if e, _ := rm["error"].(string); e != "" || ct == "" {
				return nil, fmt.Errorf("vault encrypt: %w", keys.ErrForbidden)
			}
			out = append(out, keys.DataKey{Key: ks[i], Wrapped: []byte(ct)})
		}
	}
	return out, nil
}

// Unwrap implements keys.Provider with batched transit/decrypt.
func (p *Provider) Unwrap(ctx context.Context, store string, wrapped [][]byte) ([]keys.Secret, error) {
	out := make([]keys.Secret, 0, len(wrapped))
	for start := 0; start < len(wrapped); start += batch {
		end := min(start+batch, len(wrapped))
		in := make([]map[string]any, 0, end-start)
		for _, w := range wrapped[start:end] {
			in = append(in, map[string]any{"ciphertext": string(w)})
		}
		s, err := p.c.Logical().WriteWithContext(ctx, "transit/decrypt/"+TransitName(p.cfg.Warehouse, store), map[string]any{"batch_input": in})
		if err != nil {
			return nil, refusal(store, mapErr(err, "decrypt"))
		}
		res, _ := s.Data["batch_results"].([]any)
		for _, r := range res {
			rm, _ := r.(map[string]any)
			if e, _ := rm["error"].(string); e != "" {
				if strings.Contains(e, "min_decryption_version") || strings.Contains(e, "key version") {
					return nil, fmt.Errorf("vault decrypt: retired key version: %w", keys.ErrKeyNotFound)
				}
				return nil, fmt.Errorf("vault decrypt: wrapped key does not open")
			}
			pt, _ := rm["plaintext"].(string)
			b, err := base64.StdEncoding.DecodeString(pt)
			if err != nil {
				return nil, errors.New("vault decrypt: bad plaintext encoding")
			}
			out = append(out, keys.NewSecret(b))
			clear(b)
		}
	}
	if len(out) != len(wrapped) {
		return nil, errors.New("vault decrypt: result count mismatch")
	}
	return out, nil
}

// Rewrap implements keys.Provider: transit/rewrap, server-side; the data
// keys are never revealed to the caller.
func (p *Provider) Rewrap(ctx context.Context, store string, wrapped [][]byte) ([][]byte, error) {
	out := make([][]byte, 0, len(wrapped))
	for start := 0; start < len(wrapped); start += batch {
		end := min(start+batch, len(wrapped))
		in := make([]map[string]any, 0, end-start)
		for _, w := range wrapped[start:end] {
			in = append(in, map[string]any{"ciphertext": string(w)})
		}
		s, err := p.c.Logical().WriteWithContext(ctx, "transit/rewrap/"+TransitName(p.cfg.Warehouse, store), map[string]any{"batch_input": in})
		if err != nil {
			return nil, mapErr(err, "rewrap")
		}
		res, _ := s.Data["batch_results"].([]any)
		for _, r := range res {
			rm, _ := r.(map[string]any)
			ct, _ := rm["ciphertext"].(string)
			if ct == "" {
				return nil, errors.New("vault rewrap failed")
			}
			out = append(out, []byte(ct))
		}
	}
	return out, nil
}

// PseudonymKey implements keys.Provider (KV v2 read, cached in memory).
func (p *Provider) PseudonymKey(ctx context.Context, name string) (keys.Secret, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.renewEr != nil {
		return keys.Secret{}, fmt.Errorf("vault token renewal failed: %w", keys.ErrUnavailable)
	}
	if s, ok := p.cache[name]; ok {
		return keys.NewSecret(s.Bytes()), nil
	}
	sec, err := p.c.Logical().ReadWithContext(ctx, p.kvPath(name))
	if err != nil {
		return keys.Secret{}, mapErr(err, "read pseudonym key")
	}
	if sec == nil {
		return keys.Secret{}, fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
	}
	data, _ := sec.Data["data"].(map[string]any)
	v, _ := data["key"].(string)
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != 32 {
		return keys.Secret{}, fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
	}
	s := keys.NewSecret(b)
	clear(b)
	p.cache[name] = s
	return keys.NewSecret(s.Bytes()), nil
}

// CreateKey implements keys.Provider: a transit key (aes256-gcm96) for a
// store, or a random 256-bit KV secret (written with cas=0, never
// overwritten) for a pseudonym key. It is a no-op when the key exists, also
// for a profile that may create a pseudonym key but neither read nor update
// it (admin): see [Provider.createRefused].
func (p *Provider) CreateKey(ctx context.Context, name string) error {
	if keys.IsStoreKey(name) {
		_, err := p.c.Logical().WriteWithContext(ctx, "transit/keys/"+TransitName(p.cfg.Warehouse, name), map[string]any{"type": "aes256-gcm96"})
		return mapErr(err, "create transit key")
	}
	b := make([]byte, 32)
	rand.Read(b)
	defer clear(b)
	path := p.kvPath(name)
	_, err := p.c.Logical().WriteWithContext(ctx, path, map[string]any{
		"data": map[string]any{"key": base64.StdEncoding.EncodeToString(b)}, "options": map[string]any{"cas": 0}})
	if err == nil {
		return nil
	}
	var re *api.ResponseError
	if errors.As(err, &re) && re.StatusCode == 400 && strings.Contains(strings.Join(re.Errors, " "), "check-and-set") {
		return nil // exists: never overwrite a pseudonym key
	}
	if errors.As(err, &re) && re.StatusCode == 403 && p.createRefused(ctx, path) {
		return nil // exists: see createRefused
	}
	return mapErr(err, "create pseudonym key")
}

// createRefused reports whether a refused (403) KV write to path was refused
// only because the key already exists. Vault checks the policy before the
// check-and-set: a write to an existing KV v2 path is an "update", so a
// profile whose policy has "create" but not "update" there (admin) gets 403
// instead of the check-and-set error. When the token's capabilities on path
// (sys/capabilities-self) include "create" but not "update", that 403 can
// only mean the path exists. Any other answer, or a failed lookup, keeps the
// refusal.
func (p *Provider) createRefused(ctx context.Context, path string) bool {
	caps, err := p.c.Sys().CapabilitiesSelfWithContext(ctx, path)
	if err != nil {
		return false
	}
	create := false
	for _, c := range caps {
		switch c {
		case "create":
			create = true
		case "update", "deny", "root":
			return false
		}
	}
	return create
}

// DestroyKey implements keys.Provider (workspace revocation, SEC-HAB-6).
func (p *Provider) DestroyKey(ctx context.Context, name string) error {
	p.mu.Lock()
	delete(p.cache, name)
	p.mu.Unlock()
	if keys.IsStoreKey(name) {
		t := TransitName(p.cfg.Warehouse, name)
		if _, err := p.c.Logical().WriteWithContext(ctx, "transit/keys/"+t+"/config", map[string]any{"deletion_allowed": true}); err != nil {
			return mapErr(err, "allow key deletion")
		}
		_, err := p.c.Logical().DeleteWithContext(ctx, "transit/keys/"+t)
		return mapErr(err, "delete transit key")
	}
	_, err := p.c.Logical().DeleteWithContext(ctx, strings.Replace(p.kvPath(name), "/data/", "/metadata/", 1))
	return mapErr(err, "delete pseudonym key")
}

// RotateKey implements keys.Provider.
func (p *Provider) RotateKey(ctx context.Context, name string) (int, error) {
	t := TransitName(p.cfg.Warehouse, name)
	if _, err := p.c.Logical().WriteWithContext(ctx, "transit/keys/"+t+"/rotate", nil); err != nil {
		return 0, mapErr(err, "rotate")
	}
	s, err := p.c.Logical().ReadWithContext(ctx, "transit/keys/"+t)
	if err != nil || s == nil {
		return 0, mapErr(err, "read key")
	}
	v, _ := s.Data["latest_version"].(json.Number)
	n, _ := v.Int64()
	return int(n), nil
}

// RetireVersions sets min_decryption_version once data keys are rewrapped.
func (p *Provider) RetireVersions(ctx context.Context, name string, minVersion int) error {
	_, err := p.c.Logical().WriteWithContext(ctx, "transit/keys/"+TransitName(p.cfg.Warehouse, name)+"/config", map[string]any{"min_decryption_version": minVersion})
	return mapErr(err, "retire key versions")
}

// Close implements keys.Provider: secrets wiped, renewal stopped.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n, s := range p.cache {
		s.Wipe()
		delete(p.cache, n)
	}
	if p.stop != nil {
		p.stop()
	}
	return nil
}

// Setup (admin, with a token allowed to manage mounts, policies and
// AppRoles) enables transit, KV v2 at hdw/ and AppRole, writes one policy
// per profile from policies (configs/vault) and one AppRole per profile.
// It is idempotent. Researcher policies are added by SetupResearcher.
func Setup(ctx context.Context, c *api.Client, warehouse string, policies fs.FS) error {
	mounts, err := c.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return mapErr(err, "list mounts")
	}
	if _, ok := mounts["transit/"]; !ok {
		if err := c.Sys().MountWithContext(ctx, "transit", &api.MountInput{Type: "transit"}); err != nil {
			return mapErr(err, "mount transit")
		}
	}
	if _, ok := mounts["hdw/"]; !ok {
		if err := c.Sys().MountWithContext(ctx, "hdw", &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
			return mapErr(err, "mount kv")
		}
	}
	auths, err := c.Sys().ListAuthWithContext(ctx)
	if err != nil {
		return mapErr(err, "list auth")
	}
	if _, ok := auths["approle/"]; !ok {
		if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
			return mapErr(err, "enable approle")
		}
	}
	for _, prof := range []string{keys.ProfileIngest, keys.ProfileCurator, keys.ProfileApprover, keys.ProfileDPO, keys.ProfileAdmin} {
		if err := writeRole(ctx, c, policies, warehouse, prof, prof+".hcl", ""); err != nil {
			return err
		}
	}
	return nil
}

// SetupResearcher writes the policy and AppRole of researcher:<project>.
func SetupResearcher(ctx context.Context, c *api.Client, warehouse, project string, policies fs.FS) error {
	return writeRole(ctx, c, policies, warehouse, keys.Researcher(project), "researcher.hcl", project)
}

// PolicyName returns the Vault policy and AppRole name of a profile.
func PolicyName(warehouse, profile string) string {
	return "hdw-" + warehouse + "-" + strings.ReplaceAll(profile, ":", "-")
}

func writeRole(ctx context.Context, c *api.Client, policies fs.FS, warehouse, profile, file, project string) error {
	b, err := fs.ReadFile(policies, file)
	if err != nil {
		return err
	}
	hcl := strings.ReplaceAll(strings.ReplaceAll(string(b), "{{warehouse}}", warehouse), "{{project}}", project)
	name := PolicyName(warehouse, profile)
	if err := c.Sys().PutPolicyWithContext(ctx, name, hcl); err != nil {
		return mapErr(err, "write policy")
	}
	_, err = c.Logical().WriteWithContext(ctx, "auth/approle/role/"+name, map[string]any{
		"token_policies": []string{name}, "token_ttl": "1h", "token_max_ttl": "24h", "secret_id_ttl": "0"})
	return mapErr(err, "write approle")
}

// RoleCredentials returns a role id and a fresh secret id for a profile
// (admin hands them to the profile's holder).
func RoleCredentials(ctx context.Context, c *api.Client, warehouse, profile string) (roleID, secretID string, err error) {
	name := PolicyName(warehouse, profile)
	s, err := c.Logical().ReadWithContext(ctx, "auth/approle/role/"+name+"/role-id")
	if err != nil || s == nil {
		return "", "", mapErr(err, "read role id")
	}
	roleID, _ = s.Data["role_id"].(string)
	s, err = c.Logical().WriteWithContext(ctx, "auth/approle/role/"+name+"/secret-id", nil)
	if err != nil || s == nil {
		return "", "", mapErr(err, "new secret id")
	}
	secretID, _ = s.Data["secret_id"].(string)
	return roleID, secretID, nil
}
