package vault

// Operators are people on Vault too (issue 22 item 5, issue 21 item 3;
// ENS OP.ACC.1, SWR-009). For each person the admin enrols, hdw creates:
//
//   - a transit signing key hdw-<warehouse>-op-<uuid> (ed25519, not
//     exportable: the private part never leaves Vault);
//   - a policy of the same name allowing only transit/sign on that key;
//   - an identity entity of the same name carrying two policies, the
//     profile's (hdw-<warehouse>-<role>) and the person's signing policy,
//     and an alias binding it to the person's own login: a userpass user
//     by default (password handed over by the admin), or an existing
//     method's login (oidc, ldap, cert: --vault-alias MOUNT:NAME).
//
// Vault attaches entity policies to every token the person's login
// issues, so the person logs in as Vault users do (vault login, the token
// helper's ~/.vault-token or VAULT_TOKEN) and acts with the profile's
// rights plus their own signature; an AppRole token of the profile (a
// service) signs nothing. The directory (id, name, role, public key) is a
// KV v2 entry per operator under hdw/<warehouse>/operators/, that every
// profile's policy may read and none may write: it is written with the
// same administrative token that writes the policies and the entities
// (the one of `hdw vault setup`), since whoever writes policies can
// grant anything and the admin profile's own policy decrypts nothing
// (SEC-LOG-5).

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"hdw/keys"
)

// OperatorKeyName returns the transit key, policy and entity name of the
// operator id (LH-USR-<uuid>): hdw-<warehouse>-op-<uuid>.
func OperatorKeyName(warehouse, id string) string {
	return "hdw-" + warehouse + "-op-" + strings.TrimPrefix(id, "LH-USR-")
}

// OperatorKey returns the transit signing key of the operator id.
func (p *Provider) OperatorKey(id string) string { return OperatorKeyName(p.cfg.Warehouse, id) }

// Login is how an enrolled person authenticates to Vault: an alias of
// their entity on the auth method mounted at Mount (userpass, oidc, ldap,
// cert...), named Name there. With Password (userpass only), hdw creates
// the userpass user; otherwise the login must already exist in that
// method (an identity provider's user, say).
type Login struct {
	Mount    string
	Name     string
	Password []byte
}

// dirEntry is one operator in the KV directory.
type dirEntry struct {
	keys.OperatorRecord
	Entity string `json:"entity"`
	Login  string `json:"login"` // mount:name
}

func (p *Provider) dirPath(id string) string {
	return "hdw/data/" + p.cfg.Warehouse + "/operators/" + id
}

// errAdminToken explains a refusal while enrolling or removing.
func errAdminToken(step string, err error) error {
	if errors.Is(err, keys.ErrForbidden) {
		return fmt.Errorf("vault operator %s: refused: enrolling writes a policy and an identity, which only the Vault administrator's token may do (run with HDW_VAULT_TOKEN_FILE, the token of hdw vault setup): %w", step, keys.ErrForbidden)
	}
	return fmt.Errorf("vault operator %s: %w", step, err)
}

// errDirectory explains a refused directory read: the profile policies
// written before operators existed on Vault lack it.
func errDirectory(err error) error {
	if errors.Is(err, keys.ErrForbidden) {
		return fmt.Errorf("%w (the profile policies read hdw/<warehouse>/operators/ since operators are enrolled on Vault: the Vault administrator re-runs hdw vault setup)", err)
	}
	return err
}

// AddOperator enrols a person as role (admin only; SWR-009): their own
// transit signing key, signing policy, entity and login alias, and their
// directory entry. The provider's token must be allowed to write policies
// and identities (see the package comment above).
func (p *Provider) AddOperator(ctx context.Context, name string, role keys.Profile, auth keys.Authorization, login Login, now time.Time) (keys.Operator, error) {
	if err := keys.CheckEnrolment(p.cfg.Profile, name, role, auth); err != nil {
		return keys.Operator{}, err
	}
	if login.Mount == "" || login.Name == "" {
		return keys.Operator{}, errors.New("vault operator: a login (auth mount and name) is needed")
	}
	if len(login.Password) > 0 && len(login.Password) < 8 {
		return keys.Operator{}, errors.New("an operator password needs at least 8 bytes")
	}
	if o, err := p.findOperator(ctx, name, false); err == nil {
		return keys.Operator{}, fmt.Errorf("operator %s is already enrolled (%s)", name, o.ID)
	} else if !errors.Is(err, keys.ErrOperatorNotFound) {
		return keys.Operator{}, err
	}
	accessor, err := p.freeLogin(ctx, login)
	if err != nil {
		return keys.Operator{}, err
	}
	lg := p.c.Logical()
	e := dirEntry{OperatorRecord: keys.OperatorRecord{ID: keys.NewOperatorID(), Name: name, Role: string(role),
		Enrolled: now.UTC().Format(time.RFC3339), Authorization: auth}, Login: login.Mount + ":" + login.Name}
	kn := OperatorKeyName(p.cfg.Warehouse, e.ID)
	if _, err := lg.WriteWithContext(ctx, "transit/keys/"+kn, map[string]any{"type": "ed25519"}); err != nil {
		return keys.Operator{}, errAdminToken("signing key", mapErr(err, "create signing key"))
	}
	pub, err := p.operatorPublicKey(ctx, kn)
	if err != nil {
		return keys.Operator{}, err
	}
	e.Public = pub
	hcl := fmt.Sprintf("# hdw operator %s (%s): signs with their own key only.\npath \"transit/sign/%s\" { capabilities = [\"update\"] }\n", e.ID, role, kn)
	if err := p.c.Sys().PutPolicyWithContext(ctx, kn, hcl); err != nil {
		return keys.Operator{}, errAdminToken("policy", mapErr(err, "write policy"))
	}
	s, err := lg.WriteWithContext(ctx, "identity/entity", map[string]any{"name": kn,
		"policies": []string{PolicyName(p.cfg.Warehouse, string(role)), kn},
		"metadata": map[string]string{"hdw_operator": e.ID, "hdw_warehouse": p.cfg.Warehouse}})
	if err != nil || s == nil {
		return keys.Operator{}, errAdminToken("entity", mapErr(err, "create entity"))
	}
	e.Entity, _ = s.Data["id"].(string)
	if err := p.bindLogin(ctx, e.Entity, accessor, login); err != nil {
		return keys.Operator{}, err
	}
	if err := p.writeEntry(ctx, e, 0); err != nil {
		return keys.Operator{}, err
	}
	return e.Operator(), nil
}

// operatorPublicKey reads the ed25519 public key of a transit signing key
// (version 1: operator keys are never rotated; a new key is a new
// enrolment).
func (p *Provider) operatorPublicKey(ctx context.Context, kn string) (ed25519.PublicKey, error) {
	s, err := p.c.Logical().ReadWithContext(ctx, "transit/keys/"+kn)
	if err != nil || s == nil {
		return nil, errAdminToken("public key", mapErr(err, "read signing key"))
	}
	ks, _ := s.Data["keys"].(map[string]any)
	v1, _ := ks["1"].(map[string]any)
	pk, _ := v1["public_key"].(string)
	b, err := base64.StdEncoding.DecodeString(pk)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("vault operator: the transit key has no ed25519 public key")
	}
	return b, nil
}

// freeLogin returns the accessor of the login's auth method (enabling
// userpass when a password is given), and refuses a login already bound
// to a Vault identity: a person enrolled in another warehouse of the same
// Vault, or someone else. Vault would merge the two identities; hdw asks
// for another login name instead.
func (p *Provider) freeLogin(ctx context.Context, login Login) (string, error) {
	auths, err := p.c.Sys().ListAuthWithContext(ctx)
	if err != nil {
		return "", errAdminToken("login", mapErr(err, "list auth methods"))
	}
	m, ok := auths[login.Mount+"/"]
	if !ok && len(login.Password) > 0 && login.Mount == "userpass" {
		if err := p.c.Sys().EnableAuthWithOptionsWithContext(ctx, "userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
			return "", errAdminToken("login", mapErr(err, "enable userpass"))
		}
		if auths, err = p.c.Sys().ListAuthWithContext(ctx); err != nil {
			return "", errAdminToken("login", mapErr(err, "list auth methods"))
		}
		m, ok = auths[login.Mount+"/"]
	}
	if !ok {
		return "", fmt.Errorf("vault operator login: no auth method mounted at %s/ (enable it, or use userpass)", login.Mount)
	}
	if len(login.Password) > 0 && m.Type != "userpass" {
		return "", errors.New("vault operator login: a password is only for a userpass method")
	}
	s, err := p.c.Logical().WriteWithContext(ctx, "identity/lookup/entity", map[string]any{
		"alias_name": login.Name, "alias_mount_accessor": m.Accessor})
	if err != nil {
		return "", errAdminToken("login", mapErr(err, "look up login"))
	}
	if s != nil && s.Data["id"] != nil {
		return "", fmt.Errorf("vault operator login %s:%s is already bound to a Vault identity (this person in another warehouse, or someone else): choose another with --vault-login %s:NAME", login.Mount, login.Name, login.Mount)
	}
	return m.Accessor, nil
}

// bindLogin aliases the entity to the person's login and creates the
// userpass user when a password is given.
func (p *Provider) bindLogin(ctx context.Context, entity, accessor string, login Login) error {
	// The alias comes before the user: a userpass login with no alias
	// would create an entity of its own.
	if _, err := p.c.Logical().WriteWithContext(ctx, "identity/entity-alias", map[string]any{
		"name": login.Name, "canonical_id": entity, "mount_accessor": accessor}); err != nil {
		return errAdminToken("login alias", mapErr(err, "create entity alias"))
	}
	if len(login.Password) > 0 {
		if _, err := p.c.Logical().WriteWithContext(ctx, "auth/"+login.Mount+"/users/"+login.Name, map[string]any{
			"password": string(login.Password), "token_ttl": "1h", "token_max_ttl": "12h"}); err != nil {
			return errAdminToken("login", mapErr(err, "create userpass user"))
		}
	}
	return nil
}

// writeEntry writes a directory entry with check-and-set cas (0: create).
func (p *Provider) writeEntry(ctx context.Context, e dirEntry, cas int) error {
	b, _ := json.Marshal(e)
	_, err := p.c.Logical().WriteWithContext(ctx, p.dirPath(e.ID), map[string]any{
		"data": map[string]any{"entry": string(b)}, "options": map[string]any{"cas": cas}})
	if err != nil {
		return errAdminToken("directory", mapErr(err, "write operator directory"))
	}
	return nil
}

// readEntry reads a directory entry and its KV version.
func (p *Provider) readEntry(ctx context.Context, id string) (dirEntry, int, error) {
	s, err := p.c.Logical().ReadWithContext(ctx, p.dirPath(id))
	if err != nil {
		return dirEntry{}, 0, errDirectory(mapErr(err, "read operator directory"))
	}
	if s == nil {
		return dirEntry{}, 0, keys.ErrOperatorNotFound
	}
	data, _ := s.Data["data"].(map[string]any)
	raw, _ := data["entry"].(string)
	var e dirEntry
	if err := json.Unmarshal([]byte(raw), &e); err != nil || e.ID != id {
		return dirEntry{}, 0, fmt.Errorf("vault operator directory: entry %s does not parse", id)
	}
	md, _ := s.Data["metadata"].(map[string]any)
	v, _ := md["version"].(json.Number)
	n, _ := v.Int64()
	return e, int(n), nil
}

// entries lists the directory.
func (p *Provider) entries(ctx context.Context) ([]dirEntry, error) {
	s, err := p.c.Logical().ListWithContext(ctx, "hdw/metadata/"+p.cfg.Warehouse+"/operators")
	if err != nil {
		return nil, errDirectory(mapErr(err, "list operator directory"))
	}
	var out []dirEntry
	if s == nil {
		return out, nil
	}
	ids, _ := s.Data["keys"].([]any)
	for _, x := range ids {
		id, _ := x.(string)
		if !strings.HasPrefix(id, "LH-USR-") {
			continue
		}
		e, _, err := p.readEntry(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Enrolled != out[j].Enrolled {
			return out[i].Enrolled < out[j].Enrolled
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// findEntry returns the entry whose id, name or entity id is ref.
func (p *Provider) findEntry(ctx context.Context, ref string, withRemoved bool) (dirEntry, int, error) {
	if strings.HasPrefix(ref, "LH-USR-") {
		e, v, err := p.readEntry(ctx, ref)
		if err == nil && (withRemoved || e.Removed == "") {
			return e, v, nil
		}
		if err != nil && !errors.Is(err, keys.ErrOperatorNotFound) {
			return dirEntry{}, 0, err
		}
		return dirEntry{}, 0, keys.ErrOperatorNotFound
	}
	es, err := p.entries(ctx)
	if err != nil {
		return dirEntry{}, 0, err
	}
	for _, e := range es {
		if (e.Name == ref || e.Entity == ref) && (withRemoved || e.Removed == "") {
			return p.readEntry(ctx, e.ID)
		}
	}
	return dirEntry{}, 0, keys.ErrOperatorNotFound
}

func (p *Provider) findOperator(ctx context.Context, ref string, withRemoved bool) (keys.Operator, error) {
	e, _, err := p.findEntry(ctx, ref, withRemoved)
	if err != nil {
		return keys.Operator{}, err
	}
	return e.Operator(), nil
}

// RemoveOperator withdraws an operator (SEC-HAB-6; admin only, with the
// Vault administrator's token): their signing policy is deleted and their
// entity disabled (Vault then refuses every token of theirs, including
// those already issued), their userpass user (if any) deleted, and the
// directory marks them removed. The transit key stays, unusable, and so
// does their public key in the directory: what they signed still verifies.
func (p *Provider) RemoveOperator(ctx context.Context, ref string, now time.Time) (keys.Operator, error) {
	if p.cfg.Profile != keys.ProfileAdmin {
		return keys.Operator{}, fmt.Errorf("only the admin removes operators (SWR-009): %w", keys.ErrForbidden)
	}
	e, v, err := p.findEntry(ctx, ref, false)
	if err != nil {
		return keys.Operator{}, err
	}
	if err := p.withdraw(ctx, &e, now); err != nil {
		return keys.Operator{}, err
	}
	if err := p.writeEntry(ctx, e, v); err != nil {
		return keys.Operator{}, err
	}
	return e.Operator(), nil
}

// withdraw deletes the person's signing policy, disables their entity,
// deletes their userpass user, and marks the entry removed (not written).
func (p *Provider) withdraw(ctx context.Context, e *dirEntry, now time.Time) error {
	kn := OperatorKeyName(p.cfg.Warehouse, e.ID)
	if err := p.c.Sys().DeletePolicyWithContext(ctx, kn); err != nil {
		return errAdminToken("remove", mapErr(err, "delete policy"))
	}
	if _, err := p.c.Logical().WriteWithContext(ctx, "identity/entity/id/"+e.Entity, map[string]any{
		"disabled": true, "policies": []string{}}); err != nil {
		return errAdminToken("remove", mapErr(err, "disable entity"))
	}
	if mount, name, ok := strings.Cut(e.Login, ":"); ok && mount == "userpass" {
		if _, err := p.c.Logical().DeleteWithContext(ctx, "auth/userpass/users/"+name); err != nil {
			return errAdminToken("remove", mapErr(err, "delete userpass user"))
		}
	}
	e.Removed = now.UTC().Format(time.RFC3339)
	return nil
}

// ReviewOperator records a review of the access of the active operator
// whose id or name is ref (SEC-HAB-5; admin only, with the Vault
// administrator's token, which alone writes the directory); a withdraw
// outcome removes the operator at once, as RemoveOperator (SEC-HAB-6).
// No one reviews their own access.
func (p *Provider) ReviewOperator(ctx context.Context, ref string, rv keys.OperatorReview) (keys.Operator, error) {
	if p.cfg.Profile != keys.ProfileAdmin {
		return keys.Operator{}, fmt.Errorf("only the admin records access reviews (SEC-HAB-5): %w", keys.ErrForbidden)
	}
	if err := rv.Check(); err != nil {
		return keys.Operator{}, err
	}
	rv.Time = rv.Time.UTC().Truncate(time.Second)
	e, v, err := p.findEntry(ctx, ref, false)
	if err != nil {
		return keys.Operator{}, err
	}
	if rv.Reviewer == e.ID {
		return keys.Operator{}, fmt.Errorf("no one reviews their own access (SEC-HAB-5): another admin records it: %w", keys.ErrForbidden)
	}
	e.Reviews = append(e.Reviews, rv)
	if rv.Outcome == keys.ReviewWithdraw {
		if err := p.withdraw(ctx, &e, rv.Time); err != nil {
			return keys.Operator{}, err
		}
	}
	if err := p.writeEntry(ctx, e, v); err != nil {
		return keys.Operator{}, err
	}
	return e.Operator(), nil
}

// Directory returns the operator directory (keys.Directory): every
// operator ever enrolled, removed ones included (their signatures verify).
func (p *Provider) Directory() keys.Directory { return directory{p} }

type directory struct{ p *Provider }

func (d directory) Operator(ctx context.Context, ref string) (keys.Operator, error) {
	return d.p.findOperator(ctx, ref, true)
}

func (d directory) Operators(ctx context.Context) ([]keys.Operator, error) {
	es, err := d.p.entries(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]keys.Operator, 0, len(es))
	for _, e := range es {
		out = append(out, e.Operator())
	}
	return out, nil
}

// OperatorSigner signs as one enrolled person with their transit key
// (keys.Signer): Vault signs; the private key never leaves it.
type OperatorSigner struct {
	c   *api.Client
	key string
	op  keys.Operator
}

var _ keys.Signer = (*OperatorSigner)(nil)

// OpenOperator returns the signer of the person whose entity the
// provider's token belongs to, or keys.ErrOperatorNotFound when the token
// is not an enrolled person's (an AppRole service token, say).
func (p *Provider) OpenOperator(ctx context.Context) (*OperatorSigner, error) {
	s, err := p.c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, mapErr(err, "token lookup")
	}
	// The person's signing policy, attached to their entity by the
	// administrator alone, names their operator id: a token without one
	// (an AppRole's) is no operator, and costs no directory read.
	ent, _ := s.Data["entity_id"].(string)
	pols, _ := s.TokenPolicies()
	prefix := OperatorKeyName(p.cfg.Warehouse, "")
	id := ""
	for _, pol := range pols {
		if u, ok := strings.CutPrefix(pol, prefix); ok && u != "" {
			id = "LH-USR-" + u
		}
	}
	if ent == "" || id == "" {
		return nil, keys.ErrOperatorNotFound
	}
	e, _, err := p.findEntry(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if e.Entity != ent {
		return nil, fmt.Errorf("vault operator %s: the token's entity is not the enrolled one: %w", id, keys.ErrForbidden)
	}
	return &OperatorSigner{c: p.c, key: OperatorKeyName(p.cfg.Warehouse, e.ID), op: e.Operator()}, nil
}

// Operator returns the signer's directory entry.
func (o *OperatorSigner) Operator() keys.Operator { return o.op }

// OperatorID implements keys.Signer.
func (o *OperatorSigner) OperatorID() string { return o.op.ID }

// PublicKey implements keys.Signer.
func (o *OperatorSigner) PublicKey() ed25519.PublicKey { return o.op.PublicKey }

// Sign implements keys.Signer: transit/sign (pure ed25519 over msg, RFC
// 8032), checked against the directory's public key before it is
// returned.
func (o *OperatorSigner) Sign(ctx context.Context, msg []byte) ([]byte, error) {
	s, err := o.c.Logical().WriteWithContext(ctx, "transit/sign/"+o.key, map[string]any{
		"input": base64.StdEncoding.EncodeToString(msg)})
	if err != nil || s == nil {
		return nil, fmt.Errorf("operator %s: %w", o.op.ID, mapErr(err, "sign"))
	}
	v, _ := s.Data["signature"].(string)
	sig, err := decodeSignature(v)
	if err != nil || !ed25519.Verify(o.op.PublicKey, msg, sig) {
		return nil, fmt.Errorf("operator %s: vault returned a signature that the directory's key does not verify", o.op.ID)
	}
	return sig, nil
}

// decodeSignature decodes transit's "vault:v<N>:<base64>".
func decodeSignature(v string) ([]byte, error) {
	rest, ok := strings.CutPrefix(v, "vault:v")
	if !ok {
		return nil, errors.New("vault signature: no vault:v prefix")
	}
	_, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, errors.New("vault signature: no version")
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != ed25519.SignatureSize {
		return nil, errors.New("vault signature: not an ed25519 signature")
	}
	return b, nil
}
