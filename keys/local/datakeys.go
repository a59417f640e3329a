package local

import (
	"context"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"

	"hdw/keys"
)

// Data keys and pseudonym keys: wrapping to a store's HPKE public key,
// unwrapping with the profile's grant, rewrapping to the latest version.

// NewDataKeys implements keys.Provider. The
// wrapped data key format: version (4 bytes, big endian) || HPKE ciphertext.
func (k *Keyring) NewDataKeys(ctx context.Context, store string, n int) ([]keys.DataKey, error) {
	if !keys.Allowed(k.profile, keys.OpWrap, store) {
		return nil, keys.Refusal(store)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	e, err := k.entry(ctx, store)
	if err != nil {
		return nil, err
	}
	if e.Kind != "store" || len(e.Versions) == 0 {
		return nil, fmt.Errorf("%s is not a store key: %w", store, keys.ErrKeyNotFound)
	}
	v := e.Versions[len(e.Versions)-1]
	pub, err := kem.NewPublicKey(v.Public)
	if err != nil {
		return nil, err
	}
	out := make([]keys.DataKey, 0, n)
	for i := 0; i < n; i++ {
		dek := keys.RandomSecret()
		ct, err := hpke.Seal(pub, kdf, aead, []byte(infoP+"dek "+store), dek.Bytes())
		if err != nil {
			return nil, err
		}
		w := make([]byte, 4, 4+len(ct))
		binary.BigEndian.PutUint32(w, uint32(v.Version))
		out = append(out, keys.DataKey{Key: dek, Wrapped: append(w, ct...)})
	}
	return out, nil
}

// storePrivate returns the private key of a store key version for this profile.
func (k *Keyring) storePrivate(ctx context.Context, store string, version int) (hpke.PrivateKey, error) {
	e, err := k.entry(ctx, store)
	if err != nil {
		return nil, err
	}
	if version < 1 || version > len(e.Versions) {
		if err := k.refresh(ctx); err == nil {
			e = k.r.Keys[store]
		}
		if e == nil || version < 1 || version > len(e.Versions) {
			return nil, fmt.Errorf("%s version %d: %w", store, version, keys.ErrKeyNotFound)
		}
	}
	if version < e.MinVersion {
		return nil, fmt.Errorf("%s version %d is retired: %w", store, version, keys.ErrKeyNotFound)
	}
	b, err := k.open(store, e.Versions[version-1])
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return kem.NewPrivateKey(b)
}

// Unwrap implements keys.Provider.
func (k *Keyring) Unwrap(ctx context.Context, store string, wrapped [][]byte) ([]keys.Secret, error) {
	if !keys.Allowed(k.profile, keys.OpUnwrap, store) {
		return nil, keys.Refusal(store)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// Reload once per batch so a key destroyed or retired by another
	// process (revocation, SEC-HAB-6) stops opening here too.
	if err := k.refresh(ctx); err != nil {
		return nil, err
	}
	privs := map[int]hpke.PrivateKey{}
	out := make([]keys.Secret, 0, len(wrapped))
	for _, w := range wrapped {
		if len(w) < 5 {
			return nil, errors.New("malformed wrapped data key")
		}
		ver := int(binary.BigEndian.Uint32(w[:4]))
		priv, ok := privs[ver]
		if !ok {
			var err error
			if priv, err = k.storePrivate(ctx, store, ver); err != nil {
				return nil, err
			}
			privs[ver] = priv
		}
		pt, err := hpke.Open(priv, kdf, aead, []byte(infoP+"dek "+store), w[4:])
		if err != nil {
			return nil, errors.New("wrapped data key does not open (wrong store or damaged)")
		}
		out = append(out, keys.NewSecret(pt))
		clear(pt)
	}
	return out, nil
}

// PseudonymKey implements keys.Provider.
func (k *Keyring) PseudonymKey(ctx context.Context, name string) (keys.Secret, error) {
	if keys.IsStoreKey(name) || !keys.Allowed(k.profile, keys.OpUse, name) {
		return keys.Secret{}, keys.ErrForbidden
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.cache[name]; ok {
		return keys.NewSecret(s.Bytes()), nil
	}
	e, err := k.entry(ctx, name)
	if err != nil {
		return keys.Secret{}, err
	}
	vs := e.Versions[len(e.Versions)-1:]
	if keys.Chained(name) {
		vs = e.Versions // a rotated pseudonym key chains its versions (keys.Chain)
	}
	links := make([]keys.Secret, 0, len(vs))
	defer func() {
		for _, l := range links {
			l.Wipe()
		}
	}()
	for _, v := range vs {
		b, err := k.open(name, v)
		if err != nil {
			return keys.Secret{}, err
		}
		links = append(links, keys.NewSecret(b))
		clear(b)
	}
	s := keys.Chain(links)
	k.cache[name] = s
	return keys.NewSecret(s.Bytes()), nil
}

// Rewrap implements keys.Provider. Locally it needs a profile that can
// unwrap the store (the key never leaves this process); Vault does it
// server-side.
func (k *Keyring) Rewrap(ctx context.Context, store string, wrapped [][]byte) ([][]byte, error) {
	deks, err := k.Unwrap(ctx, store, wrapped)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	e, err := k.entry(ctx, store)
	if err != nil {
		k.mu.Unlock()
		return nil, err
	}
	v := e.Versions[len(e.Versions)-1]
	k.mu.Unlock()
	pub, err := kem.NewPublicKey(v.Public)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(deks))
	for i, d := range deks {
		ct, err := hpke.Seal(pub, kdf, aead, []byte(infoP+"dek "+store), d.Bytes())
		d.Wipe()
		if err != nil {
			return nil, err
		}
		w := make([]byte, 4, 4+len(ct))
		binary.BigEndian.PutUint32(w, uint32(v.Version))
		out[i] = append(w, ct...)
	}
	return out, nil
}
