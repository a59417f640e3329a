package keys

import "context"

// Anchor is what a provider holds about the warehouse policy seal (package
// policy, issue 21) where the people who write the warehouse cannot change
// it: the seal's ed25519 public key and, where the provider can keep it
// current, the number of policy versions the admin last sealed.
type Anchor struct {
	// Public is the policy seal's ed25519 public key.
	Public []byte `json:"public"`
	// Versions is the count of sealed versions the admin last recorded; 0
	// when the provider cannot keep it (the local keyring: see
	// keys/local).
	Versions int `json:"versions,omitempty"`
}

// PolicyAnchors is implemented by a provider that holds the policy seal's
// anchor out of the warehouse's reach: the local keyring in each profile's
// passphrase-sealed entry, Vault in a KV entry only the admin's policy may
// write. The warehouse's policy/seal.json is then a copy; one that
// disagrees with the provider is tampering.
type PolicyAnchors interface {
	// PolicyAnchor returns the anchor this profile holds, or
	// [ErrKeyNotFound] when it holds none (a keyring entry or a Vault
	// warehouse older than the anchor).
	PolicyAnchor(ctx context.Context) (Anchor, error)
	// SetPolicyAnchor records a (the admin, after sealing a version).
	// Local: it anchors the caller's own entry only, and only when it
	// holds none (an anchor is never replaced). Vault: admin only.
	SetPolicyAnchor(ctx context.Context, a Anchor) error
}
