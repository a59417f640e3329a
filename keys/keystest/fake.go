package keystest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"

	"hdw/keys"
)

// FakeVault is the key set shared by several [Fake] providers, as one
// keyring or one Vault is shared by the profiles. The zero value is not
// usable; call [NewFakeVault].
type FakeVault struct {
	mu   sync.Mutex
	keys map[string][][]byte // name -> versions (index 0 = version 1); nil entry = retired
	min  map[string]int      // name -> lowest version not retired
}

// NewFakeVault returns a key set holding the warehouse keys created by
// `hdw init`: health, identity, genetic and the warehouse pseudonym keys.
func NewFakeVault() *FakeVault {
	v := &FakeVault{keys: map[string][][]byte{}}
	for _, n := range []string{keys.Health, keys.Identity, keys.Genetic, keys.AuditStore, keys.PseudoWarehouse,
		keys.PseudoProfessional, keys.PseudoOpposition, keys.Audit} {
		v.keys[n] = [][]byte{random32()}
	}
	return v
}

func random32() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("keystest: crypto/rand failed: " + err.Error())
	}
	return b
}

// Fake is an in-memory [keys.Provider] acting as one profile and obeying
// [keys.Allowed]. It is for unit tests only: keys are kept in clear in memory.
type Fake struct {
	profile string
	v       *FakeVault
}

var _ keys.Provider = (*Fake)(nil)

// NewFake returns a provider acting as profile on the shared key set; a nil
// shared gets a fresh [NewFakeVault].
func NewFake(profile string, shared *FakeVault) *Fake {
	if shared == nil {
		shared = NewFakeVault()
	}
	return &Fake{profile: profile, v: shared}
}

// Profile implements keys.Provider.
func (f *Fake) Profile() string { return f.profile }

// Operator implements keys.Provider; the id is derived from the profile name.
func (f *Fake) Operator(context.Context) (string, error) { return "LH-SVC-fake-" + f.profile, nil }

func (f *Fake) check(op keys.Op, name string) error {
	if !keys.Allowed(f.profile, op, name) {
		return fmt.Errorf("%s %s: %w", op, name, keys.Refusal(name))
	}
	return nil
}

func seal(kek, dek []byte, version uint32, name string) ([]byte, error) {
	g, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	out := binary.BigEndian.AppendUint32(nil, version)
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return g.Seal(out, nonce, dek, []byte(name)), nil
}

func newGCM(k []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// NewDataKeys implements keys.Provider.
func (f *Fake) NewDataKeys(ctx context.Context, store string, n int) ([]keys.DataKey, error) {
	if err := f.check(keys.OpWrap, store); err != nil {
		return nil, err
	}
	f.v.mu.Lock()
	defer f.v.mu.Unlock()
	vs, ok := f.v.keys[store]
	if !ok {
		return nil, fmt.Errorf("%s: %w", store, keys.ErrKeyNotFound)
	}
	out := make([]keys.DataKey, n)
	for i := range out {
		dek := random32()
		w, err := seal(vs[len(vs)-1], dek, uint32(len(vs)), store)
		if err != nil {
			return nil, err
		}
		out[i] = keys.DataKey{Key: keys.NewSecret(dek), Wrapped: w}
		clear(dek)
	}
	return out, nil
}

func (f *Fake) unwrapLocked(store string, w []byte) ([]byte, error) {
	vs, ok := f.v.keys[store]
	if !ok {
		return nil, fmt.Errorf("%s: %w", store, keys.ErrKeyNotFound)
	}
	if len(w) < 4+12 {
		return nil, fmt.Errorf("wrapped key too short")
	}
	ver := binary.BigEndian.Uint32(w)
	if ver == 0 || int(ver) > len(vs) || vs[ver-1] == nil {
		return nil, fmt.Errorf("%s version %d: %w", store, ver, keys.ErrKeyNotFound)
	}
	g, err := newGCM(vs[ver-1])
	if err != nil {
		return nil, err
	}
	dek, err := g.Open(nil, w[4:16], w[16:], []byte(store))
	if err != nil {
		return nil, fmt.Errorf("unwrap %s: %w", store, err)
	}
	return dek, nil
}

// Unwrap implements keys.Provider.
func (f *Fake) Unwrap(ctx context.Context, store string, wrapped [][]byte) ([]keys.Secret, error) {
	if err := f.check(keys.OpUnwrap, store); err != nil {
		return nil, err
	}
	f.v.mu.Lock()
	defer f.v.mu.Unlock()
	out := make([]keys.Secret, len(wrapped))
	for i, w := range wrapped {
		dek, err := f.unwrapLocked(store, w)
		if err != nil {
			return nil, err
		}
		out[i] = keys.NewSecret(dek)
		clear(dek)
	}
	return out, nil
}

// PseudonymKey implements keys.Provider.
func (f *Fake) PseudonymKey(ctx context.Context, name string) (keys.Secret, error) {
	if err := f.check(keys.OpUse, name); err != nil {
		return keys.Secret{}, err
	}
	f.v.mu.Lock()
	defer f.v.mu.Unlock()
	vs, ok := f.v.keys[name]
	if !ok {
		return keys.Secret{}, fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
	}
	if !keys.Chained(name) {
		return keys.NewSecret(vs[len(vs)-1]), nil
	}
	links := make([]keys.Secret, len(vs))
	for i, v := range vs {
		links[i] = keys.NewSecret(v)
	}
	return keys.Chain(links), nil
}

// KeyVersions implements keys.Versions.
func (f *Fake) KeyVersions(ctx context.Context, name string) (latest, min int, err error) {
	f.v.mu.Lock()
	defer f.v.mu.Unlock()
	vs, ok := f.v.keys[name]
	if !ok {
		return 0, 0, fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
	}
	return len(vs), max(1, f.v.min[name]), nil
}

// CreateKey implements keys.Provider.
func (f *Fake) CreateKey(ctx context.Context, name string) error {
	if err := f.check(keys.OpCreate, name); err != nil {
		return err
	}
	f.v.mu.Lock()
	defer f.v.mu.Unlock()
	if _, ok := f.v.keys[name]; !ok {
		f.v.keys[name] = [][]byte{random32()}
	}
	return nil
}

// DestroyKey implements keys.Provider.
func (f *Fake) DestroyKey(ctx context.Context, name string) error {
	if err := f.check(keys.OpDestroy, name); err != nil {
		return err
	}
	f.v.mu.Lock()
	defer f.v.mu.Unlock()
	delete(f.v.keys, name)
	return nil
}

// RotateKey implements keys.Provider.
func (f *Fake) RotateKey(ctx context.Context, name string) (int, error) {
	if err := f.check(keys.OpRotate, name); err != nil {
		return 0, err
	}
	f.v.mu.Lock()
	defer f.v.mu.Unlock()
	vs, ok := f.v.keys[name]
	if !ok {
		return 0, fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
	}
	f.v.keys[name] = append(vs, random32())
	return len(vs) + 1, nil
}

// RetireVersions makes the versions of name below minVersion unusable, as
// Vault's min_decryption_version does.
func (f *Fake) RetireVersions(ctx context.Context, name string, minVersion int) error {
	if err := f.check(keys.OpRotate, name); err != nil {
		return err
	}
	f.v.mu.Lock()
	defer f.v.mu.Unlock()
	vs, ok := f.v.keys[name]
	if !ok {
		return fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
	}
	if f.v.min == nil {
		f.v.min = map[string]int{}
	}
	f.v.min[name] = minVersion
	if keys.Chained(name) {
		return nil // the chain runs through the old versions (keys.Chain)
	}
	for i := 0; i < minVersion-1 && i < len(vs)-1; i++ {
		clear(vs[i])
		vs[i] = nil
	}
	return nil
}

// Rewrap implements keys.Provider: like Vault, it needs the unwrap right.
func (f *Fake) Rewrap(ctx context.Context, store string, wrapped [][]byte) ([][]byte, error) {
	if err := f.check(keys.OpUnwrap, store); err != nil {
		return nil, err
	}
	f.v.mu.Lock()
	defer f.v.mu.Unlock()
	vs := f.v.keys[store]
	out := make([][]byte, len(wrapped))
	for i, w := range wrapped {
		dek, err := f.unwrapLocked(store, w)
		if err != nil {
			return nil, err
		}
		out[i], err = seal(vs[len(vs)-1], dek, uint32(len(vs)), store)
		clear(dek)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Close implements keys.Provider.
func (f *Fake) Close() error { return nil }
