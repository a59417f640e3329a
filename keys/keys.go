package keys

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Sentinel errors of every provider. Callers branch on them with errors.Is.
var (
	// ErrForbidden means the current profile may not use the key for that operation.
	ErrForbidden = errors.New("keys: forbidden for this profile")
	// ErrKeyNotFound means the key does not exist (not created, or destroyed).
	ErrKeyNotFound = errors.New("keys: key not found")
	// ErrUnavailable means the key service cannot be reached; the caller must stop
	// and write nothing.
	ErrUnavailable = errors.New("keys: key service unavailable")
	// ErrBadCredentials means the profile's passphrase or token was refused.
	ErrBadCredentials = errors.New("keys: credentials refused")
	// ErrGeneticReserved wraps [ErrForbidden] for a profile other than ingest
	// and curator that needs the genetic key (SEC-LOG-6): the work needs a
	// curator-prepared extract.
	ErrGeneticReserved = fmt.Errorf("the genetic key is reserved to the ingest and curator profiles (SEC-LOG-6): ask a curator for a prepared extract: %w", ErrForbidden)
)

// Refusal returns the error of a refused operation on the key name:
// [ErrGeneticReserved] for the genetic store, else [ErrForbidden]. Both
// match errors.Is(err, ErrForbidden).
func Refusal(name string) error {
	if name == Genetic {
		return ErrGeneticReserved
	}
	return ErrForbidden
}

// Store key names.
const (
	Health   = "health"
	Identity = "identity"
	Genetic  = "genetic"
	// AuditStore encrypts the audit trail's event payloads at rest
	// (SRS-091, AES-256-GCM data keys): every profile wraps (appends), only
	// admin and dpo unwrap (audit review, SEC-DAY-3). No data profile can
	// read the trail back.
	AuditStore = "audit"
)

// Pseudonym key names.
const (
	PseudoWarehouse    = "pseudo:warehouse"
	PseudoProfessional = "pseudo:professional"
	PseudoOpposition   = "pseudo:opposition"
	// Audit is the key that MACs closed audit segments; every profile may
	// use it, none may change it.
	Audit = "pseudo:audit"
	// PolicySeal is the seed of the ed25519 key that seals the warehouse
	// policy (package policy): the admin profile only may use it.
	PolicySeal = "pseudo:policy"
	// CheckpointKey is the seed of the ed25519 key that signs the audit
	// trail's checkpoints (C2SP signed notes over its RFC 6962 tree): only
	// the admin holds it, so that no data profile can sign a rewritten or
	// truncated trail (issue 22, SEC-DAY-2).
	CheckpointKey = "pseudo:checkpoint"
)

// Workspace returns the store key name of a project's workspace.
func Workspace(project string) string { return "ws:" + project }

// PseudoWorkspace returns the pseudonym key name of a project's workspace.
func PseudoWorkspace(project string) string { return "pseudo:ws:" + project }

// PseudoCohort returns the pseudonym key name shared by the workspaces of a cohort.
func PseudoCohort(name string) string { return "pseudo:cohort:" + name }

// IsStoreKey reports whether name names a store key (as opposed to a pseudonym key).
func IsStoreKey(name string) bool { return !strings.HasPrefix(name, "pseudo:") }

// Profiles of ARCHITECTURE §1. A researcher profile is "researcher:<project>".
const (
	ProfileIngest   = "ingest"
	ProfileCurator  = "curator"
	ProfileApprover = "approver"
	ProfileDPO      = "dpo"
	ProfileAdmin    = "admin"
)

// Researcher returns the profile name of a project's researchers.
func Researcher(project string) string { return "researcher:" + project }

// Op is what a profile does with a key.
type Op int

// Operations checked by [Allowed].
const (
	OpWrap    Op = iota + 1 // create and wrap data keys for a store (encrypt)
	OpUnwrap                // unwrap data keys of a store (decrypt)
	OpUse                   // fetch a pseudonym key
	OpCreate                // create a key
	OpRotate                // rotate a key (add a version, retire old ones)
	OpDestroy               // destroy a key and all its versions (workspace revocation only)
)

func (o Op) String() string {
	switch o {
	case OpWrap:
		return "wrap"
	case OpUnwrap:
		return "unwrap"
	case OpUse:
		return "use"
	case OpCreate:
		return "create"
	case OpRotate:
		return "rotate"
	case OpDestroy:
		return "destroy"
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// Allowed is the access table of ARCHITECTURE §1: it reports whether profile
// may perform op on the key name. The local keyring enforces it by sealing
// each key only to the profiles it allows; the Vault policies in
// configs/vault express the same table (SEC-LOG-5, SEC-HAB-2).
func Allowed(profile string, op Op, name string) bool {
	if name == Audit && op == OpUse {
		return KnownProfile(profile)
	}
	if name == PolicySeal {
		// Who sets the rules is not who is ruled by them (ARCHITECTURE §5).
		return profile == ProfileAdmin && (op == OpUse || op == OpCreate)
	}
	if name == CheckpointKey {
		return profile == ProfileAdmin && (op == OpUse || op == OpCreate || op == OpRotate)
	}
	if name == AuditStore {
		switch op {
		case OpWrap:
			return KnownProfile(profile) // every session appends
		case OpUnwrap:
			return profile == ProfileAdmin || profile == ProfileDPO // audit review
		case OpCreate, OpRotate:
			return profile == ProfileAdmin
		}
		return false
	}
	ws, isWS := strings.CutPrefix(name, "ws:")
	pws, isPWS := strings.CutPrefix(name, "pseudo:ws:")
	isCohort := strings.HasPrefix(name, "pseudo:cohort:")
	switch profile {
	case ProfileIngest:
		switch op {
		case OpWrap:
			return name == Health || name == Identity || name == Genetic
		case OpUse:
			return name == PseudoWarehouse || name == PseudoProfessional || name == PseudoOpposition
		}
	case ProfileCurator:
		switch op {
		case OpWrap:
			return name == Health || name == Genetic || isWS
		case OpUnwrap:
			// SEC-LOG-6: genetic data is read only by the feeding and workspace profiles.
			return name == Health || name == Genetic || isWS
		case OpUse:
			return isPWS || isCohort
		case OpCreate, OpRotate:
			return isWS || isPWS || isCohort
		case OpDestroy:
			// SEC-HAB-6: revoking a workspace destroys its keys; no other
			// key is ever destroyed (configs/vault/curator.hcl).
			return isWS || isPWS
		}
	case ProfileDPO:
		// SEC-LOG-6: the genetic key is mobilized only by the feeding
		// (ingest) and workspace-export (curator) profiles; the dpo neither
		// wraps nor unwraps it. A rights request covering genetic data is
		// answered with a curator-prepared extract ([ErrGeneticReserved]).
		switch op {
		case OpWrap:
			return name == Health || name == Identity || isWS
		case OpUnwrap:
			return name == Identity || name == Health || isWS
		case OpUse:
			return name == PseudoWarehouse || name == PseudoOpposition || isPWS || isCohort
		}
	case ProfileAdmin:
		// Creates and rotates every key, destroys none (configs/vault/admin.hcl
		// has no delete): SEC-LOG-5.
		switch op {
		case OpCreate, OpRotate:
			return true
		}
	case ProfileApprover:
		return false
	default:
		if p, ok := strings.CutPrefix(profile, "researcher:"); ok && p != "" {
			return op == OpUnwrap && isWS && ws == p
		}
	}
	_ = pws
	return false
}

// KnownProfile reports whether name is a profile of ARCHITECTURE §1.
func KnownProfile(name string) bool {
	switch name {
	case ProfileIngest, ProfileCurator, ProfileApprover, ProfileDPO, ProfileAdmin:
		return true
	}
	p, ok := strings.CutPrefix(name, "researcher:")
	return ok && ValidProject(p)
}

// ValidProject reports whether p is a usable project name: 1 to 64 of
// [a-z0-9-_], starting with a letter or digit.
func ValidProject(p string) bool {
	if p == "" || len(p) > 64 {
		return false
	}
	for i, r := range p {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '_'))
		if !ok {
			return false
		}
	}
	return true
}

// Secret holds key bytes. It never prints them: String, GoString and
// LogValue redact. Call Wipe when done.
type Secret struct{ b []byte }

// NewSecret copies b into a Secret.
func NewSecret(b []byte) Secret { return Secret{b: append([]byte(nil), b...)} }

// RandomSecret returns a fresh 256-bit secret from crypto/rand.
func RandomSecret() Secret {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("keys: crypto/rand failed: " + err.Error())
	}
	return Secret{b: b}
}

// Bytes returns the key bytes. The caller must not keep or log them.
func (s Secret) Bytes() []byte { return s.b }

// Len returns the key length in bytes.
func (s Secret) Len() int { return len(s.b) }

// Wipe overwrites the key bytes with zeros.
func (s Secret) Wipe() {
	for i := range s.b {
		s.b[i] = 0
	}
}

// WipeAll wipes every secret of a provider's cache and empties it (its
// Close).
func WipeAll(cache map[string]Secret) {
	for n, s := range cache {
		s.Wipe()
		delete(cache, n)
	}
}

// String redacts.
func (Secret) String() string { return "[redacted]" }

// GoString redacts.
func (Secret) GoString() string { return "[redacted]" }

// LogValue redacts.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalJSON refuses to serialize key bytes.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// DataKey is a fresh data key and its wrapped form. Wrapped is opaque to the
// caller: it names the store key version and can be stored beside the data.
type DataKey struct {
	Key     Secret
	Wrapped []byte
}

// Provider is the key service of one profile: the embedded keyring or Vault.
// Every method returns [ErrForbidden] when the profile may not perform the
// operation (see [Allowed]), [ErrKeyNotFound] for an unknown key, and
// [ErrUnavailable] (wrapped) when the service cannot be reached.
type Provider interface {
	// Profile returns the profile this provider acts as.
	Profile() string
	// Operator returns a stable operator id for the audit trail (no PHI),
	// e.g. "LH-SVC-<uuid>" or a Vault entity id.
	Operator(ctx context.Context) (string, error)
	// NewDataKeys returns n fresh data keys wrapped by the current version of store.
	NewDataKeys(ctx context.Context, store string, n int) ([]DataKey, error)
	// Unwrap returns the data keys of wrapped (batch), in order.
	Unwrap(ctx context.Context, store string, wrapped [][]byte) ([]Secret, error)
	// PseudonymKey returns the secret of a pseudonym key.
	PseudonymKey(ctx context.Context, name string) (Secret, error)
	// CreateKey creates a store or pseudonym key; it is a no-op when it exists.
	CreateKey(ctx context.Context, name string) error
	// DestroyKey destroys a key and all its versions (workspace revocation).
	DestroyKey(ctx context.Context, name string) error
	// RotateKey adds a new version of a store key; new data keys use it.
	RotateKey(ctx context.Context, name string) (version int, err error)
	// Rewrap rewraps wrapped data keys under the latest version of store,
	// without revealing them to the caller where the service allows it.
	Rewrap(ctx context.Context, store string, wrapped [][]byte) ([][]byte, error)
	// Close wipes cached secrets and stops background renewals.
	Close() error
}
