package keystest

import (
	"context"
	"crypto/ed25519"

	"hdw/keys"
)

// Signer signs as one operator with an ed25519 key held in memory: the
// test double of an operator's signer (the local keyring's or a Vault
// transit key). It never fails.
type Signer struct {
	ID  string
	Key ed25519.PrivateKey
}

// OperatorID returns s.ID.
func (s Signer) OperatorID() string { return s.ID }

// Sign returns the ed25519 signature of m under s.Key.
func (s Signer) Sign(_ context.Context, m []byte) ([]byte, error) {
	return ed25519.Sign(s.Key, m), nil
}

// Directory is an operator directory held in memory: operator id to
// public key.
type Directory map[string]ed25519.PublicKey

// Operator returns the operator id with its public key, or
// [keys.ErrOperatorNotFound] when d does not hold id.
func (d Directory) Operator(_ context.Context, id string) (keys.Operator, error) {
	pub, ok := d[id]
	if !ok {
		return keys.Operator{}, keys.ErrOperatorNotFound
	}
	return keys.Operator{ID: id, PublicKey: pub}, nil
}
