package local

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"runtime/debug"
	"sort"
	"time"

	"golang.org/x/crypto/argon2"

	"hdw/keys"
	"hdw/objstore"
)

// operatorEntry is an enrolled person (ENS OP.ACC.1): an ed25519 key pair
// whose private part is sealed by that person's own passphrase (argon2id,
// as the profiles'), so that neither the admin who enrolled them nor any
// profile can sign in their name.
type operatorEntry struct {
	keys.OperatorRecord
	Salt          []byte `json:"salt"`
	Time          uint32 `json:"t"`
	Memory        uint32 `json:"m"`
	Threads       uint8  `json:"p"`
	SealedPrivate []byte `json:"sealed_private"`
}

func operatorAAD(id string) []byte { return []byte(infoP + "operator " + id) }

// findOperator returns the entry whose id or name is ref (removed ones
// included when withRemoved).
func (r *ring) findOperator(ref string, withRemoved bool) *operatorEntry {
	if e, ok := r.Operators[ref]; ok && (withRemoved || e.Removed == "") {
		return e
	}
	for _, e := range r.Operators {
		if e.Name == ref && (withRemoved || e.Removed == "") {
			return e
		}
	}
	return nil
}

// AddOperator enrols a person as role (SWR-009: only the admin enrols; no
// self-registration; ENS OP.ACC.1: one id per person, never reused). The
// person's ed25519 private key is sealed by passphrase, which the admin
// hands to them (hdw operator add writes it to a 0600 file). The
// enrolment records the authorizing decision (SEC-HAB-3; auth.Check). It
// returns keys.ErrForbidden for any profile but admin.
func (k *Keyring) AddOperator(ctx context.Context, name string, role keys.Profile, auth keys.Authorization, passphrase []byte, now time.Time) (keys.Operator, error) {
	if err := keys.CheckEnrolment(k.profile, name, role, auth); err != nil {
		return keys.Operator{}, err
	}
	if len(passphrase) < 8 {
		return keys.Operator{}, fmt.Errorf("an operator passphrase needs at least 8 bytes")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return keys.Operator{}, err
	}
	seed := priv.Seed()
	defer clear(seed)
	defer clear(priv)
	e := &operatorEntry{OperatorRecord: keys.OperatorRecord{ID: keys.NewOperatorID(), Name: name, Role: string(role), Public: pub,
		Enrolled: now.UTC().Format(time.RFC3339), Authorization: auth}, Time: kdfTime, Memory: kdfMemory, Threads: kdfThreads, Salt: make([]byte, 16)}
	rand.Read(e.Salt)
	kek := argon2.IDKey(passphrase, e.Salt, e.Time, e.Memory, e.Threads, 32)
	defer clear(kek)
	debug.FreeOSMemory()
	if e.SealedPrivate, err = gcmSeal(kek, seed, operatorAAD(e.ID)); err != nil {
		return keys.Operator{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	err = k.mutate(ctx, func(r *ring) error {
		if r.findOperator(name, false) != nil {
			return fmt.Errorf("operator %s is already enrolled", name)
		}
		if r.Operators == nil {
			r.Operators = map[string]*operatorEntry{}
		}
		r.Operators[e.ID] = e
		return nil
	})
	if err != nil {
		return keys.Operator{}, err
	}
	return e.Operator(), nil
}

// RemoveOperator withdraws an operator (SEC-HAB-6): their sealed private
// key is erased, so they can no longer sign; their public key stays, so
// that the events and records they signed still verify. Admin only.
func (k *Keyring) RemoveOperator(ctx context.Context, ref string, now time.Time) (keys.Operator, error) {
	if k.profile != keys.ProfileAdmin {
		return keys.Operator{}, fmt.Errorf("only the admin removes operators (SWR-009): %w", keys.ErrForbidden)
	}
	return k.updateOperator(ctx, ref, func(e *operatorEntry) error {
		e.Removed, e.SealedPrivate, e.Salt = now.UTC().Format(time.RFC3339), nil, nil
		return nil
	})
}

// ReviewOperator records a review of the access of the active operator
// whose id or name is ref (SEC-HAB-5): who, when, the outcome and a note.
// A withdraw outcome removes the operator at once, as RemoveOperator
// (SEC-HAB-6). Admin only, and never the reviewed person themselves.
func (k *Keyring) ReviewOperator(ctx context.Context, ref string, rv keys.OperatorReview) (keys.Operator, error) {
	if k.profile != keys.ProfileAdmin {
		return keys.Operator{}, fmt.Errorf("only the admin records access reviews (SEC-HAB-5): %w", keys.ErrForbidden)
	}
	if err := rv.Check(); err != nil {
		return keys.Operator{}, err
	}
	rv.Time = rv.Time.UTC().Truncate(time.Second)
	return k.updateOperator(ctx, ref, func(e *operatorEntry) error {
		if rv.Reviewer == e.ID {
			return fmt.Errorf("no one reviews their own access (SEC-HAB-5): another admin records it: %w", keys.ErrForbidden)
		}
		e.Reviews = append(e.Reviews, rv)
		if rv.Outcome == keys.ReviewWithdraw {
			e.Removed, e.SealedPrivate, e.Salt = rv.Time.Format(time.RFC3339), nil, nil
		}
		return nil
	})
}

// updateOperator applies fn to the entry of the active operator whose id
// or name is ref and saves the keyring, under k.mu; it returns the
// operator as saved, keys.ErrOperatorNotFound when there is none, or fn's
// error (nothing saved).
func (k *Keyring) updateOperator(ctx context.Context, ref string, fn func(e *operatorEntry) error) (keys.Operator, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out keys.Operator
	err := k.mutate(ctx, func(r *ring) error {
		e := r.findOperator(ref, false)
		if e == nil {
			return keys.ErrOperatorNotFound
		}
		if err := fn(e); err != nil {
			return err
		}
		out = e.Operator()
		return nil
	})
	return out, err
}

// Operator implements keys.Directory: the operator whose id or name is
// ref, removed ones included (their signatures must still verify).
func (k *Keyring) OperatorByID(ctx context.Context, ref string) (keys.Operator, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.r.findOperator(ref, true)
	if e == nil {
		if err := k.refresh(ctx); err != nil {
			return keys.Operator{}, err
		}
		if e = k.r.findOperator(ref, true); e == nil {
			return keys.Operator{}, keys.ErrOperatorNotFound
		}
	}
	return e.Operator(), nil
}

// Operators implements keys.Directory: every operator ever enrolled, by
// enrolment time.
func (k *Keyring) Operators(ctx context.Context) ([]keys.Operator, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refresh(ctx); err != nil {
		return nil, err
	}
	out := make([]keys.Operator, 0, len(k.r.Operators))
	for _, e := range k.r.Operators {
		out = append(out, e.Operator())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Enrolled.Equal(out[j].Enrolled) {
			return out[i].Enrolled.Before(out[j].Enrolled)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Directory adapts a Keyring to keys.Directory (Keyring.Operator is the
// keys.Provider method that names the profile's operator).
func (k *Keyring) Directory() keys.Directory { return directory{k} }

type directory struct{ k *Keyring }

func (d directory) Operator(ctx context.Context, id string) (keys.Operator, error) {
	return d.k.OperatorByID(ctx, id)
}
func (d directory) Operators(ctx context.Context) ([]keys.Operator, error) { return d.k.Operators(ctx) }

// OperatorKey is an unlocked operator: it implements keys.Signer.
type OperatorKey struct {
	op   keys.Operator
	priv ed25519.PrivateKey
}

var _ keys.Signer = (*OperatorKey)(nil)

// OpenOperator unlocks the operator whose id or name is ref with their own
// passphrase. A wrong passphrase, an unknown or removed operator give
// keys.ErrBadCredentials (the caller audits the failure, SRS-089).
func OpenOperator(ctx context.Context, st objstore.Store, ref string, passphrase []byte) (*OperatorKey, error) {
	r, _, err := load(ctx, st)
	if err != nil {
		return nil, err
	}
	e := r.findOperator(ref, false)
	if e == nil || len(e.SealedPrivate) == 0 {
		return nil, keys.ErrBadCredentials
	}
	kek := argon2.IDKey(passphrase, e.Salt, e.Time, e.Memory, e.Threads, 32)
	defer clear(kek)
	debug.FreeOSMemory()
	seed, err := gcmOpen(kek, e.SealedPrivate, operatorAAD(e.ID))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, keys.ErrBadCredentials
	}
	defer clear(seed)
	return &OperatorKey{op: e.Operator(), priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// Operator returns the unlocked operator's directory entry.
func (o *OperatorKey) Operator() keys.Operator { return o.op }

// OperatorID implements keys.Signer.
func (o *OperatorKey) OperatorID() string { return o.op.ID }

// PublicKey implements keys.Signer.
func (o *OperatorKey) PublicKey() ed25519.PublicKey { return o.op.PublicKey }

// Sign implements keys.Signer (ed25519, RFC 8032).
func (o *OperatorKey) Sign(_ context.Context, msg []byte) ([]byte, error) {
	if o.priv == nil {
		return nil, fmt.Errorf("operator key closed")
	}
	return ed25519.Sign(o.priv, msg), nil
}

// Close wipes the private key.
func (o *OperatorKey) Close() { clear(o.priv); o.priv = nil }
