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

	// Token is VAULT_TOKEN (kept in memory only); TokenHelperFile the
	// token helper's ~/.vault-token.
	Token           string
	TokenHelperFile string
	// AuthMethod is token, approle, kubernetes, jwt or cert ("" chooses
	// by the credentials given, see [AuthToken]); AuthMount its mount path
	// (default: the method's name); AuthRole the role of the kubernetes,
	// jwt and cert methods; JWTFile the file holding the JWT (kubernetes:
	// the service account token by default).
	AuthMethod string
	AuthMount  string
	AuthRole   string
	JWTFile    string
	// AllowHTTP accepts http:// to a non-loopback host.
	AllowHTTP bool
}

// ConfigFromEnv reads VAULT_ADDR, VAULT_NAMESPACE, VAULT_CACERT,
// VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_TOKEN, HOME (for the token
// helper's ~/.vault-token), HDW_VAULT_TOKEN_FILE, HDW_VAULT_ROLE_ID,
// HDW_VAULT_SECRET_ID_FILE, HDW_VAULT_AUTH, HDW_VAULT_AUTH_MOUNT,
// HDW_VAULT_ROLE, HDW_VAULT_JWT_FILE and HDW_VAULT_ALLOW_HTTP through getenv.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{Address: getenv("VAULT_ADDR"), Namespace: getenv("VAULT_NAMESPACE"), CACert: getenv("VAULT_CACERT"),
		ClientCert: getenv("VAULT_CLIENT_CERT"), ClientKey: getenv("VAULT_CLIENT_KEY"), TokenFile: getenv("HDW_VAULT_TOKEN_FILE"),
		RoleID: getenv("HDW_VAULT_ROLE_ID"), SecretIDFile: getenv("HDW_VAULT_SECRET_ID_FILE"),
		Token: getenv("VAULT_TOKEN"), TokenHelperFile: TokenHelperFile(getenv("HOME")),
		AuthMethod: getenv("HDW_VAULT_AUTH"), AuthMount: getenv("HDW_VAULT_AUTH_MOUNT"), AuthRole: getenv("HDW_VAULT_ROLE"),
		JWTFile: getenv("HDW_VAULT_JWT_FILE"), AllowHTTP: getenv("HDW_VAULT_ALLOW_HTTP") == "1"}
}

// Provider implements keys.Provider against Vault.
type Provider struct {
	c        *api.Client
	cfg      Config
	mu       sync.Mutex
	cache    map[string]keys.Secret
	stop     context.CancelFunc
	renewEr  error
	relogins int
}

var _ keys.Provider = (*Provider)(nil)

func readFile(path string) (string, error) {
	b, err := keys.ReadSecretFile(path)
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

// Open authenticates (see [AuthToken] for the methods and their order),
// keeps the token renewed while the run lasts and logs in again before its
// max TTL runs out. A plain http:// address to another host than loopback
// is refused (ErrPlainHTTP) unless cfg.AllowHTTP.
func Open(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Warehouse == "" {
		return nil, errors.New("vault: no warehouse name")
	}
	if err := CheckAddress(cfg.Address, cfg.AllowHTTP); err != nil {
		return nil, err
	}
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	p := &Provider{c: c, cfg: cfg, cache: map[string]keys.Secret{}}
	s, err := login(ctx, c, cfg)
	if err != nil {
		return nil, err
	}
	if s != nil {
		rctx, cancel := context.WithCancel(context.Background())
		p.stop = cancel
		go p.keepAlive(rctx, s)
	}
	return p, nil
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
	if !keys.IsStoreKey(name) {
		return p.rotatePseudo(ctx, name)
	}
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

// RetireVersions implements keys.Versions: a store key's
// min_decryption_version, once data keys are rewrapped; a chained pseudonym
// key's min_version in its KV metadata (see [Provider.KeyVersions]).
func (p *Provider) RetireVersions(ctx context.Context, name string, minVersion int) error {
	if !keys.IsStoreKey(name) {
		return p.retirePseudo(ctx, name, minVersion)
	}
	_, err := p.c.Logical().WriteWithContext(ctx, "transit/keys/"+TransitName(p.cfg.Warehouse, name)+"/config", map[string]any{"min_decryption_version": minVersion})
	return mapErr(err, "retire key versions")
}

// Close implements keys.Provider: secrets wiped, renewal stopped.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys.WipeAll(p.cache)
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
