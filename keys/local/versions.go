package local

import (
	"context"
	"fmt"

	"hdw/keys"
)

// KeyVersions implements keys.Versions (the keyring's metadata, readable by
// every profile).
func (k *Keyring) KeyVersions(ctx context.Context, name string) (latest, min int, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refresh(ctx); err != nil {
		return 0, 0, err
	}
	e, ok := k.r.Keys[name]
	if !ok {
		return 0, 0, fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
	}
	return len(e.Versions), max(1, e.MinVersion), nil
}

// RotateKey implements keys.Provider.
func (k *Keyring) RotateKey(ctx context.Context, name string) (int, error) {
	if !keys.Allowed(k.profile, keys.OpRotate, name) {
		return 0, keys.ErrForbidden
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var v int
	err := k.mutate(ctx, func(r *ring) error {
		if _, ok := r.Keys[name]; !ok {
			return fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
		}
		if err := r.addVersion(name); err != nil {
			return err
		}
		v = len(r.Keys[name].Versions)
		return nil
	})
	delete(k.cache, name)
	return v, err
}

// RetireVersions implements keys.Versions: store key versions below
// minVersion are unsealed (they no longer decrypt: rewrap first); a chained
// pseudonym key records minVersion (see keys.Versions).
func (k *Keyring) RetireVersions(ctx context.Context, name string, minVersion int) error {
	if !keys.Allowed(k.profile, keys.OpRotate, name) {
		return keys.ErrForbidden
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.mutate(ctx, func(r *ring) error {
		e, ok := r.Keys[name]
		if !ok {
			return fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
		}
		if minVersion > len(e.Versions) {
			return fmt.Errorf("%s has %d versions", name, len(e.Versions))
		}
		e.MinVersion = minVersion
		if keys.Chained(name) {
			// A chained pseudonym key keeps its old versions sealed: the
			// chain runs through them (keys.Chain); retired, no pseudonym
			// is computed at them any more.
			return nil
		}
		for i := range e.Versions {
			if e.Versions[i].Version < minVersion {
				e.Versions[i].Sealed = map[string][]byte{}
			}
		}
		return nil
	})
}
