package keystest

import (
	"context"
	"crypto/sha256"
	"fmt"

	"hdw/keys"
)

// Derived is a key service whose keys are derived from fixed strings, so
// that several processes (a test and the child it kills, a benchmark's
// generator and its measured run) share them without a keyring. It obeys
// [keys.Allowed] for Profile; store keys wrap by xor with a pad derived from
// Seed and the store's name; the warehouse pseudonym key has Versions
// versions (at least 1), handed out as [keys.Chain]. For tests and
// benchmarks only: nothing about it is secret.
type Derived struct {
	Profile  string
	Versions int
	Seed     string
}

func (d Derived) pad(name string) []byte {
	h := sha256.Sum256([]byte(d.Seed + " " + name))
	return h[:]
}

func xorPad(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

// NewDataKeys returns fresh data keys wrapped with the store's pad.
func (d Derived) NewDataKeys(ctx context.Context, store string, n int) ([]keys.DataKey, error) {
	if !keys.Allowed(d.Profile, keys.OpWrap, store) {
		return nil, keys.Refusal(store)
	}
	out := make([]keys.DataKey, 0, n)
	for range n {
		k := keys.RandomSecret()
		out = append(out, keys.DataKey{Key: k, Wrapped: xorPad(k.Bytes(), d.pad(store))})
	}
	return out, nil
}

// Unwrap returns the data keys of wrapped.
func (d Derived) Unwrap(ctx context.Context, store string, wrapped [][]byte) ([]keys.Secret, error) {
	if !keys.Allowed(d.Profile, keys.OpUnwrap, store) {
		return nil, keys.Refusal(store)
	}
	out := make([]keys.Secret, 0, len(wrapped))
	for _, w := range wrapped {
		out = append(out, keys.NewSecret(xorPad(w, d.pad(store))))
	}
	return out, nil
}

// PseudonymKey returns the pseudonym key name (the warehouse key as the
// chain of its versions).
func (d Derived) PseudonymKey(ctx context.Context, name string) (keys.Secret, error) {
	if !keys.Allowed(d.Profile, keys.OpUse, name) {
		return keys.Secret{}, keys.ErrForbidden
	}
	if name != keys.PseudoWarehouse {
		return keys.NewSecret(d.pad(name)), nil
	}
	links := make([]keys.Secret, 0, max(1, d.Versions))
	for v := 1; v <= max(1, d.Versions); v++ {
		links = append(links, keys.NewSecret(d.pad(fmt.Sprintf("%s v%d", name, v))))
	}
	return keys.Chain(links), nil
}
