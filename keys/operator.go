package keys

import (
	"context"
	"crypto/ed25519"
	"errors"
	"time"
)

// Profile is the name of an access profile (ARCHITECTURE §1): one of the
// Profile* constants or [Researcher](project).
type Profile string

// Operator is a person (or a service account) enrolled by the admin (ENS
// OP.ACC.1: individual identification; SWR-009: no self-registration).
// Profiles are roles; operators are people: two curators are two
// operators with two ids and two key pairs, so that the audit trail and
// the four-eyes rule of the export approval can tell them apart.
type Operator struct {
	ID        string            `json:"id"`   // LH-USR-<uuid> (ENS OP.ACC.1), never reused
	Name      string            `json:"name"` // login handle, unique among enrolled operators
	Role      Profile           `json:"role"` // the profile this person acts as
	PublicKey ed25519.PublicKey `json:"public_key"`
	Enrolled  time.Time         `json:"enrolled"`
	// Removed is when the admin withdrew the operator (zero: active). A
	// removed operator signs nothing more; their past signatures verify.
	Removed time.Time `json:"removed,omitzero"`
}

// Signer signs as one operator with that person's own ed25519 key
// (sealed by their own passphrase locally, Vault transit in Vault mode).
// Sign returns an error when the key service cannot be reached.
type Signer interface {
	OperatorID() string
	PublicKey() ed25519.PublicKey
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// Directory lists the enrolled operators. Operator returns
// [ErrOperatorNotFound] for an id (or name) never enrolled or removed.
type Directory interface {
	Operator(ctx context.Context, id string) (Operator, error)
	Operators(ctx context.Context) ([]Operator, error)
}

// ErrOperatorNotFound means no enrolled operator has that id or name.
var ErrOperatorNotFound = errors.New("keys: operator not enrolled")

// ValidOperatorName reports whether n is a usable login handle: 2 to 64
// of [a-z0-9._-], starting with a letter.
func ValidOperatorName(n string) bool {
	if len(n) < 2 || len(n) > 64 || n[0] < 'a' || n[0] > 'z' {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
