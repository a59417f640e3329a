package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"hdw/configs"
	"hdw/keys"
	"hdw/objstore"
	"hdw/policy"
)

// Layout of the sealed policy in the warehouse (package policy).
const (
	policyPrefix = "policy/"
	policySeal   = "policy/seal.json" // the seal public key, written once (PutIfAbsent)
)

func policyKey(v int) string { return fmt.Sprintf("%sv%06d.json", policyPrefix, v) }

// sealAnchor is policy/seal.json.
type sealAnchor struct {
	Public []byte `json:"public"`
	KeyID  string `json:"key_id"`
}

func newPolicyCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "policy", Short: "the sealed warehouse policy: floors, limits, four eyes, retention (admin)"}
	c.AddCommand(&cobra.Command{
		Use:   "set FILE",
		Short: "seal a new version of the warehouse policy (admin)",
		Long: `Set validates FILE (YAML: export k, l, t, max_suppression; reidentification
max_per_day, max_per_request; retention health_years, start_event, audit_months;
approval four_eyes, justification_min_chars, justified_second_approver,
justified_second_may_be_dpo; lockout_threshold), signs it with the policy seal
key that only the admin profile holds, and stores it as the next version
(policy/v<N>.json), chained to the previous one. Every command verifies the
signature and the chain before using the policy; a policy edited by hand is
refused. Flags, --config and the environment may only tighten it.`,
		Example: `  hdw --profile admin policy set ./policy.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runPolicySet(cmd.Context(), g, args[0]) },
	})
	c.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "print the policy in force, verified (admin)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return runPolicyShow(cmd.Context(), g) },
	})
	return c
}

// sealSigner signs with the policy seal key, an ed25519 key whose seed is
// the secret keys.PolicySeal: the keyring seals it to the admin profile
// only (Vault: only admin.hcl may read it).
type sealSigner struct{ priv ed25519.PrivateKey }

func (s sealSigner) PublicKey() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }
func (s sealSigner) Sign(_ context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, msg), nil
}

var _ policy.Signer = sealSigner{}

func openSealSigner(ctx context.Context, prov keys.Provider) (sealSigner, error) {
	sec, err := secretOrCreate(ctx, prov, keys.PolicySeal)
	if err != nil {
		return sealSigner{}, fmt.Errorf("policy seal key: %w", err)
	}
	defer sec.Wipe()
	if sec.Len() < ed25519.SeedSize {
		return sealSigner{}, errors.New("policy seal key: too short")
	}
	return sealSigner{priv: ed25519.NewKeyFromSeed(sec.Bytes()[:ed25519.SeedSize])}, nil
}

// heldAnchor is the policy anchor the provider holds out of the
// warehouse's reach (keys.PolicyAnchors: the local keyring's sealed
// profile entry, Vault's admin-only KV entry); nil when it holds none (a
// keyring entry or a Vault warehouse older than the anchor, or Vault
// policies not yet updated by hdw vault setup): policy/seal.json is then
// trusted as before.
func heldAnchor(ctx context.Context, prov keys.Provider) (*keys.Anchor, error) {
	pa, ok := prov.(keys.PolicyAnchors)
	if !ok {
		return nil, nil
	}
	a, err := pa.PolicyAnchor(ctx)
	if errors.Is(err, keys.ErrKeyNotFound) || errors.Is(err, keys.ErrForbidden) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("policy anchor: %w", err)
	}
	return &a, nil
}

// readPolicyChain reads and verifies the sealed policy against
// policy/seal.json alone, for the callers without a key provider; a
// session verifies against the provider's anchor (readPolicyChainWith).
func readPolicyChain(ctx context.Context, s objstore.Store) (*sealAnchor, []policy.Record, *policy.Record, error) {
	return readPolicyChainWith(ctx, s, nil)
}

// readPolicyChainWith reads the seal anchor and every sealed version, and
// verifies them (policy.Verify). With held (the provider's anchor), the
// chain is verified against held, a policy/seal.json that names another
// key is tampering, and fewer versions than held records (Vault) means
// versions were deleted: tampering too. Without held, policy/seal.json is
// the anchor. No anchor and no version: nil, nil (the built-in default is
// in force).
func readPolicyChainWith(ctx context.Context, s objstore.Store, held *keys.Anchor) (*sealAnchor, []policy.Record, *policy.Record, error) {
	var anchor sealAnchor
	aerr := objstore.ReadJSON(ctx, s, policySeal, 1<<12, &anchor)
	var names []string
	for info, err := range s.List(ctx, policyPrefix) {
		if err != nil {
			return nil, nil, nil, err
		}
		if strings.HasPrefix(info.Key, policyPrefix+"v") {
			names = append(names, info.Key)
		}
	}
	sort.Strings(names)
	switch {
	case held != nil:
		if aerr == nil && !bytes.Equal(anchor.Public, held.Public) || aerr != nil && !errors.Is(aerr, objstore.ErrNotExist) {
			return nil, nil, nil, fmt.Errorf("%w: %s is not the seal key the key provider holds (replaced)", policy.ErrTampered, policySeal)
		}
		if len(names) < held.Versions {
			return nil, nil, nil, fmt.Errorf("%w: the key provider records %d sealed policy versions, the warehouse holds %d (deleted)", policy.ErrTampered, held.Versions, len(names))
		}
		anchor = sealAnchor{Public: held.Public, KeyID: policy.KeyID(held.Public)}
		if len(names) == 0 {
			return &anchor, nil, nil, nil
		}
	case errors.Is(aerr, objstore.ErrNotExist):
		if len(names) > 0 {
			return nil, nil, nil, fmt.Errorf("%w: policy versions without the seal anchor %s", policy.ErrTampered, policySeal)
		}
		return nil, nil, nil, nil
	case aerr != nil || len(anchor.Public) != ed25519.PublicKeySize || anchor.KeyID != policy.KeyID(anchor.Public):
		return nil, nil, nil, fmt.Errorf("%w: unreadable seal anchor %s", policy.ErrTampered, policySeal)
	}
	var chain []policy.Record
	for _, n := range names {
		r, err := s.Open(ctx, n)
		if err != nil {
			return nil, nil, nil, err
		}
		b, err := io.ReadAll(io.LimitReader(r, 1<<20))
		r.Close()
		if err != nil {
			return nil, nil, nil, err
		}
		rec, err := policy.DecodeRecord(b)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", n, err)
		}
		if policyKey(rec.Version) != n {
			return nil, nil, nil, fmt.Errorf("%w: %s holds version %d", policy.ErrTampered, n, rec.Version)
		}
		chain = append(chain, rec)
	}
	latest, err := policy.Verify(anchor.Public, chain)
	if err != nil {
		return nil, nil, nil, err
	}
	return &anchor, chain, latest, nil
}

// sessionPolicyChain is readPolicyChainWith against the session
// provider's anchor.
func (s *session) sessionPolicyChain(ctx context.Context) (*sealAnchor, []policy.Record, *policy.Record, error) {
	return heldPolicyChain(ctx, s.st, s.prov)
}

// heldPolicyChain is readPolicyChainWith against the anchor prov holds.
func heldPolicyChain(ctx context.Context, st objstore.Store, prov keys.Provider) (*sealAnchor, []policy.Record, *policy.Record, error) {
	held, err := heldAnchor(ctx, prov)
	if err != nil {
		return nil, nil, nil, err
	}
	return readPolicyChainWith(ctx, st, held)
}

// recordAnchor records the admin's seal key and the count of sealed
// versions with the provider (keys.PolicyAnchors): on Vault the admin-only
// KV entry, locally the admin's own keyring entry when it holds no anchor
// yet (the migration of a keyring older than the anchor).
func recordAnchor(ctx context.Context, prov keys.Provider, pub ed25519.PublicKey, versions int) error {
	pa, ok := prov.(keys.PolicyAnchors)
	if !ok {
		return nil
	}
	if err := pa.SetPolicyAnchor(ctx, keys.Anchor{Public: pub, Versions: versions}); err != nil {
		return fmt.Errorf("record the policy anchor with the key provider (on Vault, rerun hdw vault setup so that admin.hcl allows it, then hdw policy show): %w", err)
	}
	return nil
}

// policyAlert audits a policy that does not verify and returns the error
// every command then fails with (fail closed).
func (s *session) policyAlert(ctx context.Context, err error) error {
	s.event(ctx, "", "policy.tampered", "alert", map[string]string{"policy": "warehouse"}, nil, "sealed policy does not verify")
	fmt.Fprintf(s.g.stderr, "hdw: ALERT: the warehouse policy does not verify; nothing done: %v\n", err)
	return &exitError{code: exitFailure, err: fmt.Errorf("%w: the admin must check policy/ and re-seal it (hdw policy set)", err)}
}

// configOverrides are the policy fields that --config asked for; a value
// equal to configs.Defaults() is "not set".
func configOverrides(c configs.Config) policy.Overrides {
	d := configs.Defaults()
	var o policy.Overrides
	setIfChanged(&o.K, c.Export.K, d.Export.K)
	setIfChanged(&o.L, c.Export.L, d.Export.L)
	setIfChanged(&o.MaxSuppression, c.Export.MaxSuppression, d.Export.MaxSuppression)
	setIfChanged(&o.MaxReidentificationsPerDay, c.Rights.MaxReidentificationsPerDay, d.Rights.MaxReidentificationsPerDay)
	setIfChanged(&o.HealthYears, c.Retention.HealthYears, d.Retention.HealthYears)
	setIfChanged(&o.AuditMonths, c.Retention.AuditMonths, d.Retention.AuditMonths)
	return o
}

// setIfChanged sets *dst to v when v is not the default def.
func setIfChanged[T comparable](dst *T, v, def T) {
	if v != def {
		*dst = v
	}
}

// effectivePolicy is the verified sealed policy (or the built-in default
// when none was ever sealed), tightened by --config / HDW_CONFIG. A policy
// that does not verify, or a config that loosens it, is refused and
// audited.
func (s *session) effectivePolicy(ctx context.Context) (policy.Policy, int, error) {
	_, _, latest, err := s.sessionPolicyChain(ctx)
	if err != nil {
		return policy.Policy{}, 0, s.policyAlert(ctx, err)
	}
	p, version := policy.Default(), 0
	if latest != nil {
		p, version = latest.Policy, latest.Version
	}
	p, err = p.Tighten(configOverrides(s.g.cfg))
	if err != nil {
		s.event(ctx, "", "policy.loosen", "denied", map[string]string{"policy": "v" + strconv.Itoa(version)}, nil, "config or environment tried to loosen the warehouse policy")
		return p, version, &exitError{code: exitFailure, err: err}
	}
	return p, version, nil
}

func runPolicySet(ctx context.Context, g *globals, file string) error {
	next, err := parseFile(file, "policy file", policy.Parse)
	if err != nil {
		return err
	}
	return g.within(ctx, "policy set", nil, func(sess *session) error {
		if err := sess.require(ctx, "policy.set", keys.ProfileAdmin); err != nil {
			return err
		}
		signer, err := openSealSigner(ctx, sess.prov)
		if err != nil {
			return sess.deny(ctx, "policy.set", map[string]string{"policy": "warehouse"}, err)
		}
		anchor, _, latest, err := sess.sessionPolicyChain(ctx)
		if err != nil {
			return sess.policyAlert(ctx, err)
		}
		pub := signer.PublicKey()
		if anchor != nil && !bytes.Equal(anchor.Public, pub) {
			return sess.policyAlert(ctx, fmt.Errorf("%w: the seal anchor is not the admin's policy key", policy.ErrTampered))
		}
		// policy/seal.json: a copy for the profiles whose provider holds no
		// anchor (readPolicyChainWith compares it with the held one).
		a := sealAnchor{Public: pub, KeyID: policy.KeyID(pub)}
		b, _ := json.Marshal(a)
		if err := sess.st.PutIfAbsent(ctx, policySeal, bytes.NewReader(b)); err != nil && !errors.Is(err, objstore.ErrExist) {
			return fmt.Errorf("write %s: %w", policySeal, err)
		}
		prev := policy.Default()
		if latest != nil {
			prev = latest.Policy
		}
		rec, err := policy.Seal(ctx, signer, latest, next, sess.operator, nowUTC())
		if err != nil {
			return usageErr("%v", err)
		}
		b, err = json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return err
		}
		if err := sess.st.PutIfAbsent(ctx, policyKey(rec.Version), bytes.NewReader(b)); err != nil {
			return fmt.Errorf("write policy version %d (another admin sealed one at the same time? rerun): %w", rec.Version, err)
		}
		if err := recordAnchor(ctx, sess.prov, pub, rec.Version); err != nil {
			return err
		}
		reason := ""
		if l := prev.Loosens(next); len(l) > 0 {
			reason = "loosens " + strings.Join(l, ", ")
		}
		if err := sess.event(ctx, "", "policy.set", "ok", map[string]string{"policy": "v" + strconv.Itoa(rec.Version), "key": rec.KeyID}, nil, reason); err != nil {
			return err
		}
		return g.result(map[string]any{"version": rec.Version, "key_id": rec.KeyID, "policy": rec.Policy, "loosens": prev.Loosens(next)},
			"policy version %d sealed (key %s)\n", rec.Version, rec.KeyID)
	})
}

func runPolicyShow(ctx context.Context, g *globals) error {
	return g.within(ctx, "policy show", nil, func(sess *session) error {
		if err := sess.require(ctx, "policy.show", keys.ProfileAdmin); err != nil {
			return err
		}
		anchor, chain, latest, err := sess.sessionPolicyChain(ctx)
		if err != nil {
			return sess.policyAlert(ctx, err)
		}
		if anchor != nil {
			// The admin also checks the anchor against the key only they hold,
			// and records it with the provider where it is missing (migration).
			signer, err := openSealSigner(ctx, sess.prov)
			if err != nil {
				return err
			}
			if !bytes.Equal(anchor.Public, signer.PublicKey()) {
				return sess.policyAlert(ctx, fmt.Errorf("%w: the seal anchor is not the admin's policy key", policy.ErrTampered))
			}
			if err := recordAnchor(ctx, sess.prov, signer.PublicKey(), len(chain)); err != nil {
				return err
			}
		}
		p, version := policy.Default(), 0
		res := map[string]any{"version": 0, "source": "built-in default (no policy sealed yet)"}
		if latest != nil {
			p, version = latest.Policy, latest.Version
			res = map[string]any{"version": version, "source": "sealed", "set_by": latest.SetBy, "time": latest.Time, "key_id": latest.KeyID, "versions": len(chain)}
		}
		res["policy"] = p
		sess.event(ctx, "", "policy.show", "ok", map[string]string{"policy": "v" + strconv.Itoa(version)}, nil, "")
		if g.json {
			return json.NewEncoder(g.stdout).Encode(res)
		}
		fmt.Fprintf(g.stdout, "policy version %d (%s)\n", version, res["source"])
		b, _ := json.MarshalIndent(p, "  ", "  ")
		fmt.Fprintf(g.stdout, "  %s\n", b)
		return nil
	})
}

// require checks the session's profile after the audit session is open,
// so that a refusal is an audit event (SEC-DAY-1; issue 21's attack suite).
func (s *session) require(ctx context.Context, action string, allowed ...string) error {
	if err := s.g.requireProfile(allowed...); err != nil {
		return s.deny(ctx, action, map[string]string{"profile": s.g.profile}, err)
	}
	return nil
}

// lockoutThreshold is the sealed policy's lock-out threshold (SRS-089),
// lowered by audit.lockout_threshold of --config when that is lower (a
// config only tightens). A policy that does not verify counts as the
// built-in default here; the commands that read the policy then fail.
// It runs before any key is opened, so it checks the chain against
// policy/seal.json, not the provider's anchor: a forged policy could raise
// it up to policy's maximum (20) until the next keyed command raises the
// tampering alert (README, warehouse policy).
func lockoutThreshold(ctx context.Context, s objstore.Store, cfg configs.Config) int {
	p := policy.Default()
	if _, _, latest, err := readPolicyChain(ctx, s); err == nil && latest != nil {
		p = latest.Policy
	}
	t := p.LockoutThreshold
	if c := cfg.Audit.LockoutThreshold; c > 0 && c < t {
		t = c
	}
	return t
}

// heldPolicy is the sealed policy in force as prov sees it: verified
// against the anchor prov holds (keys.PolicyAnchors), policy/seal.json
// only when it holds none; nil with no error when none was ever sealed.
func heldPolicy(ctx context.Context, s objstore.Store, prov keys.Provider) (*policy.Record, error) {
	_, _, latest, err := heldPolicyChain(ctx, s, prov)
	return latest, err
}

// policyAuditMonths is the sealed policy's audit retention in months (the
// built-in default when none verifies), read without any key.
func policyAuditMonths(ctx context.Context, s objstore.Store, prov keys.Provider) int {
	if latest, err := heldPolicy(ctx, s, prov); err == nil && latest != nil {
		return latest.Policy.Retention.AuditMonths
	}
	return policy.Default().Retention.AuditMonths
}
