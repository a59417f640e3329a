package local

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"hdw/keys"
)

// PolicyAnchor implements keys.PolicyAnchors: the policy seal public key
// sealed in this profile's entry under its passphrase (Init, AddProfile).
// Forging it means forging one's own sealed entry, which limits nobody but
// oneself (as patching one's own binary would). The keyring cannot keep a
// count of sealed versions current in every entry (only each profile's
// passphrase opens its entry), so Versions is always 0 here.
func (k *Keyring) PolicyAnchor(context.Context) (keys.Anchor, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.anchor == nil {
		return keys.Anchor{}, fmt.Errorf("profile %s: keyring entry without a policy anchor (created before it): %w", k.profile, keys.ErrKeyNotFound)
	}
	return keys.Anchor{Public: bytes.Clone(k.anchor)}, nil
}

// SetPolicyAnchor implements keys.PolicyAnchors: it anchors this
// profile's own entry (resealed under the same passphrase) when it holds
// no anchor; an anchor already held is never replaced (a different one is
// keys.ErrForbidden). Versions is not kept.
func (k *Keyring) SetPolicyAnchor(ctx context.Context, a keys.Anchor) error {
	if len(a.Public) != ed25519.PublicKeySize {
		return errors.New("policy anchor: not an ed25519 public key")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.anchor != nil {
		if bytes.Equal(k.anchor, a.Public) {
			return nil
		}
		return fmt.Errorf("profile %s already holds another policy anchor: %w", k.profile, keys.ErrForbidden)
	}
	if len(k.kek) == 0 {
		return errors.New("policy anchor: keyring closed")
	}
	err := k.mutate(ctx, func(r *ring) error {
		pe, ok := r.Profiles[k.profile]
		if !ok {
			return fmt.Errorf("profile %s: %w", k.profile, keys.ErrKeyNotFound)
		}
		priv, held, err := pe.open(k.kek, k.profile)
		if err != nil {
			return err // the entry changed under us (passphrase reset): refuse
		}
		defer clear(priv)
		if held != nil {
			if !bytes.Equal(held, a.Public) {
				return fmt.Errorf("profile %s already holds another policy anchor: %w", k.profile, keys.ErrForbidden)
			}
			return nil
		}
		return pe.seal(k.kek, k.profile, priv, a.Public)
	})
	if err == nil {
		k.anchor = bytes.Clone(a.Public)
	}
	return err
}
