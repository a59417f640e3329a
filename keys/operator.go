package keys

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	// Authorization is the decision that enrolled the person (SEC-HAB-3).
	Authorization Authorization `json:"authorization,omitzero"`
	// Reviews are the periodic reviews of the person's access (SEC-HAB-5),
	// oldest first.
	Reviews []OperatorReview `json:"reviews,omitempty"`
}

// OperatorRecord is the stored form of an operator's directory entry,
// shared by the providers (the local keyring embeds it beside the sealed
// private key; Vault's KV directory beside the entity and login). Times
// are RFC 3339.
type OperatorRecord struct {
	ID            string           `json:"id"`
	Name          string           `json:"name"`
	Role          string           `json:"role"`
	Public        []byte           `json:"public"`
	Enrolled      string           `json:"enrolled"`
	Removed       string           `json:"removed,omitempty"`
	Authorization Authorization    `json:"authorization,omitzero"`
	Reviews       []OperatorReview `json:"reviews,omitempty"`
}

// Operator returns the directory entry as an [Operator].
func (e OperatorRecord) Operator() Operator {
	o := Operator{ID: e.ID, Name: e.Name, Role: Profile(e.Role), PublicKey: ed25519.PublicKey(e.Public),
		Authorization: e.Authorization, Reviews: append([]OperatorReview(nil), e.Reviews...)}
	o.Enrolled, _ = time.Parse(time.RFC3339, e.Enrolled)
	o.Removed, _ = time.Parse(time.RFC3339, e.Removed)
	return o
}

// Authorization is the decision that authorizes an enrolment (SEC-HAB-3):
// the reference of the governance body's decision and, for the admin
// profile, the line manager who decided it.
type Authorization struct {
	Decision string `json:"decision"`
	Manager  string `json:"manager,omitempty"`
}

// Review outcomes.
const (
	ReviewKeep     = "keep"
	ReviewWithdraw = "withdraw"
)

// OperatorReview is one review of a person's access (SEC-HAB-5): who
// reviewed (operator id, or the admin profile's service id), when, the
// outcome (keep or withdraw) and a note.
type OperatorReview struct {
	Time     time.Time `json:"time"`
	Reviewer string    `json:"reviewer"`
	Outcome  string    `json:"outcome"`
	Note     string    `json:"note,omitempty"`
}

// Check reports what a review lacks: a keep or withdraw outcome, its
// reviewer, time and a note (1 to 1000 printable characters).
func (rv OperatorReview) Check() error {
	if rv.Outcome != ReviewKeep && rv.Outcome != ReviewWithdraw {
		return errors.New("review outcome must be keep or withdraw")
	}
	if rv.Reviewer == "" || rv.Time.IsZero() || !ValidReference(rv.Note, 1000) {
		return errors.New("a review needs its reviewer, time and a note (1 to 1000 printable characters)")
	}
	return nil
}

// LastReviewed returns when the person's access was last reviewed, else
// when they were enrolled: the start of the current review period.
func (o Operator) LastReviewed() time.Time {
	if n := len(o.Reviews); n > 0 {
		return o.Reviews[n-1].Time
	}
	return o.Enrolled
}

// ValidReference reports whether s is a usable decision reference,
// manager or review note: 1 to max printable characters, no control
// character.
func ValidReference(s string, max int) bool {
	if s == "" || len([]rune(s)) > max {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Check reports what an enrolment's authorization lacks for role
// (SEC-HAB-3): a decision reference always, and the line manager for the
// admin profile.
func (a Authorization) Check(role Profile) error {
	if !ValidReference(a.Decision, 200) {
		return errors.New("an enrolment needs the reference of the authorizing decision (SEC-HAB-3): --decision REF, 1 to 200 printable characters")
	}
	if role == ProfileAdmin && !ValidReference(a.Manager, 200) {
		return errors.New("an admin enrolment needs the line manager whose decision it is (SEC-HAB-3): --manager NAME")
	}
	if a.Manager != "" && !ValidReference(a.Manager, 200) {
		return errors.New("--manager: 1 to 200 printable characters")
	}
	return nil
}

// CheckEnrolment reports why an enrolment of name as role by the profile
// enrolling is refused: only the admin enrols (SWR-009, keys.ErrForbidden
// otherwise), with the authorizing decision (SEC-HAB-3), a valid login
// handle and a known profile.
func CheckEnrolment(enrolling, name string, role Profile, auth Authorization) error {
	if enrolling != ProfileAdmin {
		return fmt.Errorf("only the admin enrols operators (SWR-009): %w", ErrForbidden)
	}
	if err := auth.Check(role); err != nil {
		return err
	}
	if !ValidOperatorName(name) {
		return errors.New("operator name must be 2 to 64 of a-z 0-9 . _ - starting with a letter")
	}
	if !KnownProfile(string(role)) {
		return fmt.Errorf("unknown profile %q", role)
	}
	return nil
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

// NewOperatorID returns a fresh operator id, LH-USR-<uuid v4> (ENS
// OP.ACC.1: one id per person, never reused).
func NewOperatorID() string {
	u := make([]byte, 16)
	rand.Read(u)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u)
	return "LH-USR-" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
