package rights

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"hdw/configs"
	"hdw/keys"
	"hdw/pseudo"
	"hdw/warehouse"
)

// Errors callers branch on with errors.Is. None holds an identifying value.
var (
	// ErrNotDPO means the profile is not dpo (SEC-REI-4). It wraps keys.ErrForbidden.
	ErrNotDPO = fmt.Errorf("rights: only the dpo profile may handle rights and re-identification requests: %w", keys.ErrForbidden)
	// ErrNoRequest means the request reference is missing or malformed (SEC-REI-5).
	ErrNoRequest = errors.New("rights: a request reference is mandatory (1 to 64 of A-Z a-z 0-9 . _ - / :)")
	// ErrNoReason means the reason is missing or not one of the accepted reasons.
	ErrNoReason = errors.New("rights: a reason is mandatory (emergency or recontact)")
	// ErrRateLimit means the daily re-identification limit would be exceeded
	// (rights.max_reidentifications_per_day); the call was refused and an
	// alert raised.
	ErrRateLimit = errors.New("rights: daily re-identification limit reached; request refused and alert raised")
	// ErrAmbiguous means the names, birth date and sex match persons with
	// different NIRs (homonyms): the NIR is needed.
	ErrAmbiguous = errors.New("rights: several persons with different NIRs match these names, birth date and sex; give the NIR")
	// ErrNotFound means a pseudonym has no identity in the warehouse.
	ErrNotFound = errors.New("rights: no person with this pseudonym")
	// ErrField means a rectification names a column that is not an identifying column.
	ErrField = errors.New("rights: only identifying columns of the data dictionary can be rectified")
	// ErrNoWorkspaces means a workspace pseudonym was given but no workspace index is configured.
	ErrNoWorkspaces = errors.New("rights: workspaces are not available")
)

// Reasons of re-identification.
const (
	ReasonEmergency = "emergency" // SEC-REI-3
	ReasonRecontact = "recontact" // SEC-REI-2
)

// DefaultMaxPerDay is the default daily limit of persons resolved
// (configs: rights.max_reidentifications_per_day).
const DefaultMaxPerDay = 20

// Keys is what rights needs from the key provider (dpo profile).
type Keys interface {
	warehouse.KeySource
	PseudonymKey(ctx context.Context, name string) (keys.Secret, error)
	Profile() string
}

// Request is the DPO's request: its reference (mandatory, audited) and,
// for re-identification, the reason.
type Request struct {
	Ref    string
	Reason string
}

// Subject is what the person (or the DPO) gives to be found: the NIR, or
// last name, first name, birth date (YYYY-MM-DD) and sex. Its values are
// never logged, stored, returned or put in an error.
type Subject struct {
	NIR       string
	LastName  string
	FirstName string
	BirthDate string
	Sex       string
}

// String redacts.
func (Subject) String() string { return "[subject redacted]" }

// GoString redacts.
func (Subject) GoString() string { return "[subject redacted]" }

// LogValue redacts.
func (Subject) LogValue() slog.Value { return slog.StringValue("[subject redacted]") }

// Alert is raised when a guard is breached (rate limit).
type Alert struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Request string    `json:"request"`
	Used    int       `json:"used"`
	Asked   int       `json:"asked"`
	Limit   int       `json:"limit"`
}

// Options configure a [Service].
type Options struct {
	// Dict is the data dictionary (default: the embedded one).
	Dict *configs.Dictionary
	// Workspaces finds and erases persons in workspaces; nil means none.
	Workspaces WorkspaceIndex
	// Exports lists exports with their true state and cancels unreleased
	// ones on erasure; nil: the folders under exports/, nothing cancelled.
	Exports ExportIndex
	// MaxPerDay is the daily limit of distinct persons resolved (0: DefaultMaxPerDay).
	MaxPerDay int
	// MaxPerRequest is the most new persons one call may resolve (0: no
	// limit besides MaxPerDay); the sealed policy's
	// reidentification.max_per_request.
	MaxPerRequest int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Alert is called when a guard is breached (default: nothing besides the error).
	Alert func(ctx context.Context, a Alert)
	// Operator is the operator id written in the ledger and proofs.
	Operator string
	// Logger receives debug messages, never identifying values (default: discard).
	Logger *slog.Logger
	// Genetic signs the DPO's ask for a curator-prepared genetic extract
	// and verifies the curator's extract (genetic.go; SEC-LOG-6).
	Genetic GeneticTrust
}

// Service handles the DPO's requests on one warehouse.
type Service struct {
	wh  *warehouse.Warehouse
	k   Keys
	opt Options
}

// New returns a Service. It fails with [ErrNotDPO] unless the provider's
// profile is dpo; the provider itself refuses keys outside keys.Allowed.
func New(wh *warehouse.Warehouse, k Keys, opt Options) (*Service, error) {
	if k == nil || k.Profile() != keys.ProfileDPO {
		return nil, ErrNotDPO
	}
	if opt.Dict == nil {
		opt.Dict = configs.DefaultDictionary()
	}
	if opt.MaxPerDay <= 0 {
		opt.MaxPerDay = DefaultMaxPerDay
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{wh: wh, k: k, opt: opt}, nil
}

// ValidRef reports whether ref is a usable request reference: 1 to 64
// characters of A-Z a-z 0-9 . _ - / :. The charset keeps names and other
// identifying text out of the audit trail.
func ValidRef(ref string) bool {
	if ref == "" || len(ref) > 64 {
		return false
	}
	for _, r := range ref {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '/' || r == ':'
		if !ok {
			return false
		}
	}
	return true
}

// check runs the guards that need no data: profile and request reference.
func (s *Service) check(req Request) error {
	if s.k.Profile() != keys.ProfileDPO {
		return ErrNotDPO
	}
	if !ValidRef(req.Ref) {
		return ErrNoRequest
	}
	return nil
}

// warehouseKey fetches the warehouse pseudonym key.
func (s *Service) warehouseKey(ctx context.Context) (*pseudo.Keyed, error) {
	return s.pseudoKey(ctx, keys.PseudoWarehouse)
}

func (s *Service) pseudoKey(ctx context.Context, name string) (*pseudo.Keyed, error) {
	sec, err := s.k.PseudonymKey(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("fetch pseudonym key %s: %w", name, err)
	}
	defer sec.Wipe()
	return pseudo.New(sec)
}
