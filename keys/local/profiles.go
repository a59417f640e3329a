package local

import (
	"context"
	"crypto/hpke"
	"fmt"
	"sort"
	"strconv"

	"hdw/keys"
)

// AddProfile creates a profile (researcher:<project>) with its passphrase
// and seals to it every existing key it is allowed. Any profile that holds
// those keys may call it (the curator for its workspaces); it returns
// keys.ErrForbidden when the caller cannot pass on a key the new profile
// needs.
func (k *Keyring) AddProfile(ctx context.Context, profile string, passphrase []byte) error {
	if !keys.KnownProfile(profile) {
		return fmt.Errorf("unknown profile %q", profile)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	e, err := newProfile(profile, passphrase, k.anchor) // the creator's anchor (nil: none)
	if err != nil {
		return err
	}
	return k.mutate(ctx, func(r *ring) error {
		if _, ok := r.Profiles[profile]; ok {
			return fmt.Errorf("profile %s already exists", profile)
		}
		r.Profiles[profile] = e
		pub, err := kem.NewPublicKey(e.Public)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(r.Keys))
		for n := range r.Keys {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ke := r.Keys[n]
			op := keys.OpUse
			if ke.Kind == "store" {
				op = keys.OpUnwrap
			}
			if !keys.Allowed(profile, op, n) {
				continue
			}
			for i := range ke.Versions {
				v := &ke.Versions[i]
				if len(v.Sealed) == 0 {
					continue // retired
				}
				secret, err := k.open(n, *v)
				if err != nil {
					return fmt.Errorf("cannot pass key %s to %s: %w", n, profile, keys.ErrForbidden)
				}
				ct, err := hpke.Seal(pub, kdf, aead, []byte(infoP+n+" v"+strconv.Itoa(v.Version)+" to "+profile), secret)
				clear(secret)
				if err != nil {
					return err
				}
				v.Sealed[profile] = ct
			}
		}
		return nil
	})
}

// RemoveProfile deletes a profile and every key sealed to it (SEC-HAB-6).
func (k *Keyring) RemoveProfile(ctx context.Context, profile string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.mutate(ctx, func(r *ring) error {
		delete(r.Profiles, profile)
		for _, ke := range r.Keys {
			for i := range ke.Versions {
				delete(ke.Versions[i].Sealed, profile)
			}
		}
		return nil
	})
}
