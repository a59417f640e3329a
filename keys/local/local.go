// Package local is the embedded key provider of hdw: a keyring stored in
// the warehouse (keyring/v<N>.json), sealed per profile, that keeps the
// separation of ARCHITECTURE §1 without any server.
//
// # Design
//
// Every profile has an X25519 key pair (HPKE, RFC 9180, crypto/hpke); its
// private key is sealed with AES-256-GCM under a key derived from the
// profile's passphrase with argon2id (t=3, m=64 MiB, p=2: the RFC 9106
// second recommended option, about 0.2 s here, paid once per command).
//
// Store keys (health, identity, genetic, ws:<project>) are HPKE key pairs
// with versions. Their public keys are in clear, so any profile allowed to
// wrap (keys.Allowed OpWrap) seals fresh data keys to them; their private
// keys are sealed only to the profiles allowed to unwrap. The ingest
// profile therefore cannot decrypt the identity store even if the code
// check were removed: it never holds the sealed private key.
//
// Pseudonym keys and the audit key are random 256-bit secrets sealed to
// each profile allowed to use them. Creating a key or a profile needs only
// the other profiles' public keys, never their passphrases.
//
// Each profile's sealed private key is sealed together with the public key
// of the policy seal (keys.PolicyAnchors, issue 21), so the anchor a
// profile verifies the warehouse policy against is as hard to change as
// its passphrase; see anchor.go.
//
// Writes are optimistic: the next version of the keyring is written with
// PutIfAbsent, so two concurrent writers cannot overwrite each other (the
// loser retries).
package local

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"hdw/keys"
	"hdw/objstore"
)

const prefix = "keyring/"

// KDF parameters of argon2id.
const (
	kdfTime    = 3
	kdfMemory  = 64 << 10 // KiB
	kdfThreads = 2
)

type profileEntry struct {
	Operator      string `json:"operator"`
	Salt          []byte `json:"salt"`
	Time          uint32 `json:"t"`
	Memory        uint32 `json:"m"`
	Threads       uint8  `json:"p"`
	Public        []byte `json:"public"`
	SealedPrivate []byte `json:"sealed_private"`
}

// A profile entry's SealedPrivate opens under its passphrase-derived key
// with one of two associated data: infoP+"profile "+name (private key
// only, a keyring older than the policy anchor) or that plus anchorAAD
// (private key || policy seal public key). An anchored entry cannot be
// turned into an unanchored one without the passphrase, so the anchor
// cannot be stripped to fall back to the warehouse's policy/seal.json.
const anchorAAD = " policy-anchor"

type keyVersion struct {
	Version int               `json:"version"`
	Public  []byte            `json:"public,omitempty"` // store keys only
	Sealed  map[string][]byte `json:"sealed"`           // profile -> HPKE(profile public, secret)
}

type keyEntry struct {
	Kind       string       `json:"kind"` // "store" or "secret"
	Versions   []keyVersion `json:"versions"`
	MinVersion int          `json:"min_version,omitempty"`
}

type ring struct {
	Version  int                      `json:"version"`
	Profiles map[string]*profileEntry `json:"profiles"`
	Keys     map[string]*keyEntry     `json:"keys"`
	// Operators are the persons enrolled by the admin, by id (ENS OP.ACC.1).
	Operators map[string]*operatorEntry `json:"operators,omitempty"`
}

var (
	kem   = hpke.DHKEM(ecdh.X25519())
	kdf   = hpke.HKDFSHA256()
	aead  = hpke.AES256GCM()
	infoP = "hdw keyring v1 "
)

// Keyring is an opened keyring acting as one profile. It implements
// keys.Provider.
type Keyring struct {
	st      objstore.Store
	profile string
	mu      sync.Mutex
	r       *ring
	priv    hpke.PrivateKey
	cache   map[string]keys.Secret
	anchor  []byte // the policy seal public key of this profile's sealed entry; nil: none
	kek     []byte // the passphrase-derived key, to anchor an unanchored entry (SetPolicyAnchor)
}

var (
	_ keys.Provider      = (*Keyring)(nil)
	_ keys.Versions      = (*Keyring)(nil)
	_ keys.PolicyAnchors = (*Keyring)(nil)
)

// WarehouseProfiles are the profiles created by Init.
var WarehouseProfiles = []string{keys.ProfileIngest, keys.ProfileCurator, keys.ProfileApprover, keys.ProfileDPO, keys.ProfileAdmin}

// WarehouseKeys are the keys created by Init.
var WarehouseKeys = []string{keys.Health, keys.Identity, keys.Genetic, keys.AuditStore, keys.PseudoWarehouse, keys.PseudoProfessional, keys.PseudoOpposition, keys.Audit, keys.CheckpointKey}

// Init creates the keyring with the warehouse profiles (passphrases by
// profile) and the warehouse keys. It fails if a keyring exists.
//
// The policy seal key (keys.PolicySeal) is created first, and its public
// key sealed into every profile's entry with the profile's private key
// (the policy anchor, keys.PolicyAnchors): whoever writes the warehouse
// can replace policy/seal.json, not the anchor a profile opens with its
// passphrase.
func Init(ctx context.Context, st objstore.Store, passphrases map[string][]byte) error {
	if _, _, err := load(ctx, st); err == nil {
		return errors.New("keyring already exists")
	}
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	defer clear(seed)
	anchor := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	r := &ring{Version: 1, Profiles: map[string]*profileEntry{}, Keys: map[string]*keyEntry{}}
	for _, p := range WarehouseProfiles {
		pass, ok := passphrases[p]
		if !ok || len(pass) < 8 {
			return fmt.Errorf("profile %s needs a passphrase of at least 8 bytes", p)
		}
		e, err := newProfile(p, pass, anchor)
		if err != nil {
			return err
		}
		r.Profiles[p] = e
	}
	r.Keys[keys.PolicySeal] = &keyEntry{Kind: "secret"}
	if err := r.addVersionOf(keys.PolicySeal, seed); err != nil {
		return err
	}
	for _, k := range WarehouseKeys {
		if err := r.create(k); err != nil {
			return err
		}
	}
	return save(ctx, st, r)
}

// create adds key name (version 1) sealed to every allowed profile.
func (r *ring) create(name string) error {
	if _, ok := r.Keys[name]; ok {
		return nil
	}
	e := &keyEntry{Kind: "secret"}
	if keys.IsStoreKey(name) {
		e.Kind = "store"
	}
	r.Keys[name] = e
	return r.addVersion(name)
}

func (r *ring) addVersion(name string) error { return r.addVersionOf(name, nil) }

// addVersionOf adds a version of name; a secret key's version holds
// secret when not nil (else a fresh random one).
func (r *ring) addVersionOf(name string, secret []byte) error {
	e := r.Keys[name]
	v := keyVersion{Version: len(e.Versions) + 1, Sealed: map[string][]byte{}}
	op := keys.OpUse
	if secret != nil {
		secret = append([]byte(nil), secret...)
	} else if e.Kind == "store" {
		priv, err := kem.GenerateKey()
		if err != nil {
			return err
		}
		secret, err = priv.Bytes()
		if err != nil {
			return err
		}
		v.Public = priv.PublicKey().Bytes()
		op = keys.OpUnwrap
	} else {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	defer clear(secret)
	if err := r.sealTo(name, v.Version, secret, op, &v); err != nil {
		return err
	}
	e.Versions = append(e.Versions, v)
	return nil
}

// sealTo seals secret to every profile allowed op on name.
func (r *ring) sealTo(name string, version int, secret []byte, op keys.Op, v *keyVersion) error {
	for p, pe := range r.Profiles {
		if !keys.Allowed(p, op, name) {
			continue
		}
		pub, err := kem.NewPublicKey(pe.Public)
		if err != nil {
			return err
		}
		ct, err := hpke.Seal(pub, kdf, aead, []byte(infoP+name+" v"+strconv.Itoa(version)+" to "+p), secret)
		if err != nil {
			return err
		}
		v.Sealed[p] = ct
	}
	return nil
}

// prune removes every sealed key a profile is no longer allowed (the
// access table tightened: SEC-LOG-6 took the genetic key from the dpo), so
// that a keyring written before holds nothing beyond keys.Allowed once any
// profile writes it again (hdw init on a new warehouse never seals it).
func (r *ring) prune() {
	for name, e := range r.Keys {
		op := keys.OpUse
		if e.Kind == "store" {
			op = keys.OpUnwrap
		}
		for i := range e.Versions {
			for p := range e.Versions[i].Sealed {
				if !keys.Allowed(p, op, name) {
					delete(e.Versions[i].Sealed, p)
				}
			}
		}
	}
}

func load(ctx context.Context, st objstore.Store) (*ring, int, error) {
	latest := 0
	for info, err := range st.List(ctx, prefix) {
		if err != nil {
			return nil, 0, err
		}
		s := strings.TrimSuffix(strings.TrimPrefix(info.Key, prefix+"v"), ".json")
		if n, err := strconv.Atoi(s); err == nil && n > latest {
			latest = n
		}
	}
	if latest == 0 {
		return nil, 0, fmt.Errorf("no keyring in the warehouse (run hdw init): %w", keys.ErrKeyNotFound)
	}
	var r ring
	if err := objstore.ReadJSON(ctx, st, fmt.Sprintf("%sv%06d.json", prefix, latest), 64<<20, &r); err != nil {
		return nil, 0, err
	}
	return &r, latest, nil
}

func save(ctx context.Context, st objstore.Store, r *ring) error {
	data, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	return st.PutIfAbsent(ctx, fmt.Sprintf("%sv%06d.json", prefix, r.Version), strings.NewReader(string(data)))
}

// Open unlocks the keyring as profile with its passphrase. A wrong
// passphrase or an unknown profile gives keys.ErrBadCredentials.
func Open(ctx context.Context, st objstore.Store, profile string, passphrase []byte) (*Keyring, error) {
	r, _, err := load(ctx, st)
	if err != nil {
		return nil, err
	}
	pe, ok := r.Profiles[profile]
	if !ok {
		return nil, keys.ErrBadCredentials
	}
	kek := argon2.IDKey(passphrase, pe.Salt, pe.Time, pe.Memory, pe.Threads, 32)
	// argon2id's working memory (64 MiB) is garbage now: return it to the
	// OS, or a whole ingest carries it in its resident size.
	debug.FreeOSMemory()
	privBytes, anchor, err := pe.open(kek, profile)
	if err != nil {
		clear(kek)
		return nil, err
	}
	anchor = append([]byte(nil), anchor...)
	defer clear(privBytes)
	priv, err := kem.NewPrivateKey(privBytes)
	if err != nil {
		clear(kek)
		return nil, keys.ErrBadCredentials
	}
	return &Keyring{st: st, profile: profile, r: r, priv: priv, cache: map[string]keys.Secret{}, anchor: anchor, kek: kek}, nil
}

// Profile implements keys.Provider.
func (k *Keyring) Profile() string { return k.profile }

// Operator implements keys.Provider: the profile's LH-<kind>-<uuid>.
func (k *Keyring) Operator(context.Context) (string, error) {
	return k.r.Profiles[k.profile].Operator, nil
}

// refresh reloads the latest keyring (keys created by other runs).
func (k *Keyring) refresh(ctx context.Context) error {
	r, _, err := load(ctx, k.st)
	if err != nil {
		return err
	}
	k.r = r
	return nil
}

func (k *Keyring) entry(ctx context.Context, name string) (*keyEntry, error) {
	e, ok := k.r.Keys[name]
	if !ok {
		if err := k.refresh(ctx); err != nil {
			return nil, err
		}
		if e, ok = k.r.Keys[name]; !ok {
			return nil, fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
		}
	}
	return e, nil
}

// open returns the secret of a key version sealed to this profile.
func (k *Keyring) open(name string, v keyVersion) ([]byte, error) {
	ct, ok := v.Sealed[k.profile]
	if !ok {
		return nil, keys.ErrForbidden
	}
	pt, err := hpke.Open(k.priv, kdf, aead, []byte(infoP+name+" v"+strconv.Itoa(v.Version)+" to "+k.profile), ct)
	if err != nil {
		return nil, fmt.Errorf("open %s: keyring entry damaged", name)
	}
	return pt, nil
}

// mutate applies fn to the latest keyring and writes the next version,
// retrying when another writer won the race.
func (k *Keyring) mutate(ctx context.Context, fn func(r *ring) error) error {
	for attempt := 0; attempt < 5; attempt++ {
		if err := k.refresh(ctx); err != nil {
			return err
		}
		if err := fn(k.r); err != nil {
			return err
		}
		k.r.prune()
		k.r.Version++
		err := save(ctx, k.st, k.r)
		if err == nil {
			return nil
		}
		if !errors.Is(err, objstore.ErrExist) {
			return err
		}
	}
	return errors.New("keyring: too many concurrent writers, retry")
}

// CreateKey implements keys.Provider.
func (k *Keyring) CreateKey(ctx context.Context, name string) error {
	if !keys.Allowed(k.profile, keys.OpCreate, name) {
		return keys.ErrForbidden
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.mutate(ctx, func(r *ring) error { return r.create(name) })
}

// DestroyKey implements keys.Provider: every version's sealed secrets are removed.
func (k *Keyring) DestroyKey(ctx context.Context, name string) error {
	if !keys.Allowed(k.profile, keys.OpDestroy, name) {
		return keys.ErrForbidden
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.cache, name)
	return k.mutate(ctx, func(r *ring) error {
		delete(r.Keys, name)
		return nil
	})
}

// Close implements keys.Provider: cached secrets are wiped.
func (k *Keyring) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	keys.WipeAll(k.cache)
	clear(k.kek)
	return nil
}
