package policy

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Retention start events (CNIL 2021-118 §7.2: data are kept for a period
// counted from the end of the care or of the research project, not from
// their arrival in the warehouse).
const (
	StartEndOfCare    = "end-of-care"
	StartEndOfProject = "end-of-project"
	StartIngest       = "ingest"
)

// Export holds the floors of every export (SEC-EXP-1).
type Export struct {
	K              int     `yaml:"k" json:"k"`
	L              int     `yaml:"l" json:"l"`
	T              float64 `yaml:"t" json:"t"` // 0: t-closeness not required
	MaxSuppression float64 `yaml:"max_suppression" json:"max_suppression"`
}

// Reidentification limits the DPO's re-identifications (SEC-REI-4).
type Reidentification struct {
	MaxPerDay     int `yaml:"max_per_day" json:"max_per_day"`
	MaxPerRequest int `yaml:"max_per_request" json:"max_per_request"`
}

// Retention holds the retention periods and their start event.
type Retention struct {
	HealthYears int    `yaml:"health_years" json:"health_years"`
	StartEvent  string `yaml:"start_event" json:"start_event"`
	AuditMonths int    `yaml:"audit_months" json:"audit_months"`
	// RotationMapMonths is how long the old-to-new map of a pseudonym-key
	// rotation is kept on the identity side (issue 22; package rotation):
	// 1 to 60, 0 means [DefaultRotationMapMonths].
	RotationMapMonths int `yaml:"rotation_map_months,omitempty" json:"rotation_map_months,omitempty"`
}

// DefaultRotationMapMonths is the map's retention when the policy sets none.
const DefaultRotationMapMonths = 12

// MapMonths returns the retention of a rotation's map, in months.
func (r Retention) MapMonths() int {
	if r.RotationMapMonths == 0 {
		return DefaultRotationMapMonths
	}
	return r.RotationMapMonths
}

// Approval is the four-eyes rule and what a justified release needs
// (SEC-EXP-2, SEC-EXP-3).
type Approval struct {
	// FourEyes: the approver is another operator than the requester
	// (always true; a policy setting it false is refused).
	FourEyes bool `yaml:"four_eyes" json:"four_eyes"`
	// JustificationMinChars is the shortest justification of a release of
	// an export that failed a check.
	JustificationMinChars int `yaml:"justification_min_chars" json:"justification_min_chars"`
	// JustifiedSecondApprover: such a release needs a second approver,
	// another operator than the requester and the first approver.
	JustifiedSecondApprover bool `yaml:"justified_second_approver" json:"justified_second_approver"`
	// JustifiedSecondMayBeDPO: the DPO may be that second approver.
	JustifiedSecondMayBeDPO bool `yaml:"justified_second_may_be_dpo" json:"justified_second_may_be_dpo"`
}

// Policy is the warehouse policy.
type Policy struct {
	Export           Export           `yaml:"export" json:"export"`
	Reidentification Reidentification `yaml:"reidentification" json:"reidentification"`
	Retention        Retention        `yaml:"retention" json:"retention"`
	Approval         Approval         `yaml:"approval" json:"approval"`
	// Indicators is every consumer's privacy budget for differentially
	// private indicators (SEC-EXP-4, package indicators): set here by the
	// admin, never by the consumer.
	Indicators IndicatorBudget `yaml:"indicators" json:"indicators"`
	// LockoutThreshold is the number of failed authentications after which
	// an operator is locked out (SEC-AUT).
	LockoutThreshold int `yaml:"lockout_threshold" json:"lockout_threshold"`
	// Review is the periodic review of people's access (SEC-HAB-5): a
	// person not reviewed for Months, plus GraceDays, is suspended until
	// the admin records a review (hdw operator review).
	Review AccessReview `yaml:"review" json:"review,omitzero"`
}

// AccessReview is the period of the review of each operator's access
// (counted from the last review, else from the enrolment) and the grace
// after which an overdue operator's login is refused. The zero value (a
// policy sealed before the field existed) means the defaults: see
// [Policy.EffectiveReview].
type AccessReview struct {
	Months    int `yaml:"months" json:"months"`
	GraceDays int `yaml:"grace_days" json:"grace_days"`
}

// EffectiveReview returns the review period in force: p.Review, or the
// default when the policy predates the field (zero value).
func (p Policy) EffectiveReview() AccessReview {
	if p.Review == (AccessReview{}) {
		return Default().Review
	}
	return p.Review
}

// IndicatorBudget is the (epsilon, delta) that one consumer's indicator
// runs may spend together in one UTC calendar period (month, quarter or
// year).
type IndicatorBudget struct {
	Epsilon float64 `yaml:"epsilon" json:"epsilon"`
	Delta   float64 `yaml:"delta" json:"delta"`
	Period  string  `yaml:"period" json:"period"`
}

// periodRank orders budget periods by length; a longer period with the
// same epsilon is stricter (less spend per month), a shorter one looser.
func periodRank(p string) int {
	switch p {
	case "year":
		return 1
	case "quarter":
		return 2
	}
	return 3 // month
}

// Default returns the built-in policy, in force until the admin seals one.
func Default() Policy {
	return Policy{
		Export:           Export{K: 5, L: 2, MaxSuppression: 0.05},
		Reidentification: Reidentification{MaxPerDay: 20, MaxPerRequest: 20},
		Retention:        Retention{HealthYears: 20, StartEvent: StartEndOfCare, AuditMonths: 12},
		Approval:         Approval{FourEyes: true, JustificationMinChars: 40, JustifiedSecondApprover: true, JustifiedSecondMayBeDPO: true},
		Indicators:       IndicatorBudget{Epsilon: 2, Delta: 1e-5, Period: "month"},
		LockoutThreshold: 5,
		Review:           AccessReview{Months: 12, GraceDays: 30},
	}
}

// FieldError is an invalid policy field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "policy: " + e.Field + ": " + e.Reason }

// Validate checks the policy's fields. Errors are [FieldError]s, joined.
func (p Policy) Validate() error {
	var errs []error
	bad := func(ok bool, f, r string) {
		if !ok {
			errs = append(errs, &FieldError{f, r})
		}
	}
	bad(p.Export.K >= 2 && p.Export.K <= 1000, "export.k", "must be between 2 and 1000")
	bad(p.Export.L >= 1 && p.Export.L <= 100, "export.l", "must be between 1 and 100")
	bad(p.Export.T >= 0 && p.Export.T <= 1, "export.t", "must be between 0 (off) and 1")
	bad(p.Export.MaxSuppression >= 0 && p.Export.MaxSuppression <= 0.5, "export.max_suppression", "must be between 0 and 0.5")
	bad(p.Reidentification.MaxPerDay >= 1 && p.Reidentification.MaxPerDay <= 10000, "reidentification.max_per_day", "must be between 1 and 10000")
	bad(p.Reidentification.MaxPerRequest >= 1 && p.Reidentification.MaxPerRequest <= p.Reidentification.MaxPerDay, "reidentification.max_per_request", "must be between 1 and max_per_day")
	bad(p.Retention.HealthYears >= 1 && p.Retention.HealthYears <= 20, "retention.health_years", "must be between 1 and 20 (CNIL 7.2)")
	bad(p.Retention.AuditMonths >= 6 && p.Retention.AuditMonths <= 12, "retention.audit_months", "must be between 6 and 12 (SEC-DAY-4)")
	bad(p.Retention.RotationMapMonths >= 0 && p.Retention.RotationMapMonths <= 60, "retention.rotation_map_months", "must be between 1 and 60 (0: the default, 12)")
	switch p.Retention.StartEvent {
	case StartEndOfCare, StartEndOfProject, StartIngest:
	default:
		errs = append(errs, &FieldError{"retention.start_event", "must be end-of-care, end-of-project or ingest"})
	}
	bad(p.Approval.FourEyes, "approval.four_eyes", "must be true: the approver is never the requester (SEC-EXP-2)")
	bad(p.Approval.JustificationMinChars >= 20 && p.Approval.JustificationMinChars <= 2000, "approval.justification_min_chars", "must be between 20 and 2000")
	bad(p.LockoutThreshold >= 1 && p.LockoutThreshold <= 20, "lockout_threshold", "must be between 1 and 20")
	bad(p.Indicators.Epsilon > 0 && p.Indicators.Epsilon <= 10, "indicators.epsilon", "must be above 0 and at most 10 per period")
	bad(p.Indicators.Delta >= 0 && p.Indicators.Delta <= 1e-3, "indicators.delta", "must be between 0 and 0.001")
	if p.Review != (AccessReview{}) {
		bad(p.Review.Months >= 1 && p.Review.Months <= 12, "review.months", "must be between 1 and 12 (a yearly review at least, SEC-HAB-5)")
		bad(p.Review.GraceDays >= 0 && p.Review.GraceDays <= 90, "review.grace_days", "must be between 0 and 90")
	}
	switch p.Indicators.Period {
	case "month", "quarter", "year":
	default:
		errs = append(errs, &FieldError{"indicators.period", "must be month, quarter or year"})
	}
	return errors.Join(errs...)
}

// Parse reads a policy file (YAML or JSON, at most 64 KiB). Fields left
// out keep their [Default]; unknown fields are errors.
func Parse(r io.Reader) (Policy, error) {
	p := Default()
	dec := yaml.NewDecoder(io.LimitReader(r, 64<<10))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return p, fmt.Errorf("policy: %w", err)
	}
	return p, p.Validate()
}

// Signer signs with the policy seal key (held by the admin profile only).
type Signer interface {
	PublicKey() ed25519.PublicKey
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// Record is one sealed version of the policy, as stored.
type Record struct {
	Version int       `json:"version"`
	Prev    string    `json:"prev,omitempty"` // hex SHA-256 of the previous record; empty for version 1
	Time    time.Time `json:"time"`
	SetBy   string    `json:"set_by"` // operator id
	Policy  Policy    `json:"policy"`
	KeyID   string    `json:"key_id"` // hex SHA-256 of the seal public key, first 16 bytes
	Sig     []byte    `json:"sig"`
}

// Sentinel errors.
var (
	// ErrTampered: a record's signature, key or chain does not verify.
	ErrTampered = errors.New("policy: record does not verify (edited by hand, or not sealed by the admin's policy key)")
	// ErrLoosen is wrapped by a LoosenError.
	ErrLoosen = errors.New("policy: looser than the warehouse policy")
)

// KeyID returns the key id of a seal public key.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:16])
}

// signed returns the bytes a record's signature covers.
func (r Record) signed() ([]byte, error) {
	r.Sig = nil
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return append([]byte("hdw policy v1\n"), b...), nil
}

// Hash returns the hex SHA-256 of the record's canonical encoding,
// signature included (the next version's Prev).
func (r Record) Hash() string {
	b, _ := json.Marshal(r)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Seal makes the next version of the policy after prev (nil for the
// first), signed by s.
func Seal(ctx context.Context, s Signer, prev *Record, p Policy, operator string, now time.Time) (Record, error) {
	if err := p.Validate(); err != nil {
		return Record{}, err
	}
	r := Record{Version: 1, Time: now.UTC().Truncate(time.Millisecond), SetBy: operator, Policy: p, KeyID: KeyID(s.PublicKey())}
	if prev != nil {
		r.Version, r.Prev = prev.Version+1, prev.Hash()
	}
	msg, err := r.signed()
	if err != nil {
		return Record{}, err
	}
	if r.Sig, err = s.Sign(ctx, msg); err != nil {
		return Record{}, fmt.Errorf("policy: sign: %w", err)
	}
	return r, nil
}

// Verify checks a chain of records (version 1 first) against the seal
// public key and returns the latest. Any edit, reordering, gap or foreign
// key returns [ErrTampered].
func Verify(pub ed25519.PublicKey, chain []Record) (*Record, error) {
	if len(chain) == 0 {
		return nil, nil
	}
	for i, r := range chain {
		if r.Version != i+1 {
			return nil, fmt.Errorf("%w: version %d where %d was expected", ErrTampered, r.Version, i+1)
		}
		if r.KeyID != KeyID(pub) {
			return nil, fmt.Errorf("%w: version %d names another key", ErrTampered, r.Version)
		}
		if i > 0 && r.Prev != chain[i-1].Hash() {
			return nil, fmt.Errorf("%w: version %d does not follow version %d", ErrTampered, r.Version, i)
		}
		msg, err := r.signed()
		if err != nil || !ed25519.Verify(pub, msg, r.Sig) {
			return nil, fmt.Errorf("%w: version %d: bad signature", ErrTampered, r.Version)
		}
		if err := r.Policy.Validate(); err != nil {
			return nil, fmt.Errorf("%w: version %d: %v", ErrTampered, r.Version, err)
		}
	}
	return &chain[len(chain)-1], nil
}

// DecodeRecord parses a stored record strictly (unknown fields refused).
func DecodeRecord(b []byte) (Record, error) {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	return r, nil
}

// LoosenError is an override (flag, config or environment) that would
// loosen the policy.
type LoosenError struct {
	Field  string
	Asked  string
	Policy string
}

func (e *LoosenError) Error() string {
	return fmt.Sprintf("%s %s is looser than the warehouse policy (%s): flags, config and environment may only tighten it; ask the admin (hdw policy set)", e.Field, e.Asked, e.Policy)
}

// Unwrap returns ErrLoosen.
func (e *LoosenError) Unwrap() error { return ErrLoosen }

// Overrides are the values a configuration file or the environment asks
// for; zero means "not set".
type Overrides struct {
	K, L                       int
	T, MaxSuppression          float64
	MaxReidentificationsPerDay int
	HealthYears, AuditMonths   int
}

// Tighten returns p with the overrides applied where they tighten it, and
// a [LoosenError] (joined) for each that would loosen it.
func (p Policy) Tighten(o Overrides) (Policy, error) {
	var errs []error
	loosen := func(f string, asked, pol any) {
		errs = append(errs, &LoosenError{f, fmt.Sprint(asked), fmt.Sprintf("%s=%v", f, pol)})
	}
	if o.K != 0 {
		if o.K < p.Export.K {
			loosen("export.k", o.K, p.Export.K)
		} else {
			p.Export.K = o.K
		}
	}
	if o.L != 0 {
		if o.L < p.Export.L {
			loosen("export.l", o.L, p.Export.L)
		} else {
			p.Export.L = o.L
		}
	}
	if o.T != 0 {
		if p.Export.T > 0 && o.T > p.Export.T {
			loosen("export.t", o.T, p.Export.T)
		} else {
			p.Export.T = o.T
		}
	}
	if o.MaxSuppression != 0 {
		if o.MaxSuppression > p.Export.MaxSuppression {
			loosen("export.max_suppression", o.MaxSuppression, p.Export.MaxSuppression)
		} else {
			p.Export.MaxSuppression = o.MaxSuppression
		}
	}
	if o.MaxReidentificationsPerDay != 0 {
		if o.MaxReidentificationsPerDay > p.Reidentification.MaxPerDay {
			loosen("rights.max_reidentifications_per_day", o.MaxReidentificationsPerDay, p.Reidentification.MaxPerDay)
		} else {
			p.Reidentification.MaxPerDay = o.MaxReidentificationsPerDay
			p.Reidentification.MaxPerRequest = min(p.Reidentification.MaxPerRequest, o.MaxReidentificationsPerDay)
		}
	}
	if o.HealthYears != 0 {
		// Retention is a maximum: keeping longer loosens it.
		if o.HealthYears > p.Retention.HealthYears {
			loosen("retention.health_years", o.HealthYears, p.Retention.HealthYears)
		} else {
			p.Retention.HealthYears = o.HealthYears
		}
	}
	if o.AuditMonths != 0 {
		// Audit trails are kept 6 to 12 months (SEC-DAY-4); the policy's
		// period is the floor a config may not shorten.
		if o.AuditMonths < p.Retention.AuditMonths {
			loosen("retention.audit_months", o.AuditMonths, p.Retention.AuditMonths)
		} else {
			p.Retention.AuditMonths = o.AuditMonths
		}
	}
	return p, errors.Join(errs...)
}

// Loosens lists the fields of next that are looser than p (for the audit
// record of a policy change: a loosening is allowed to the admin, but it
// is named).
func (p Policy) Loosens(next Policy) []string {
	var out []string
	add := func(c bool, f string) {
		if c {
			out = append(out, f)
		}
	}
	add(next.Export.K < p.Export.K, "export.k")
	add(next.Export.L < p.Export.L, "export.l")
	add((p.Export.T > 0 && next.Export.T == 0) || next.Export.T > p.Export.T && p.Export.T > 0, "export.t")
	add(next.Export.MaxSuppression > p.Export.MaxSuppression, "export.max_suppression")
	add(next.Reidentification.MaxPerDay > p.Reidentification.MaxPerDay, "reidentification.max_per_day")
	add(next.Reidentification.MaxPerRequest > p.Reidentification.MaxPerRequest, "reidentification.max_per_request")
	add(next.Retention.HealthYears > p.Retention.HealthYears, "retention.health_years")
	add(next.Retention.MapMonths() > p.Retention.MapMonths(), "retention.rotation_map_months")
	add(next.Approval.JustificationMinChars < p.Approval.JustificationMinChars, "approval.justification_min_chars")
	add(!next.Approval.JustifiedSecondApprover && p.Approval.JustifiedSecondApprover, "approval.justified_second_approver")
	add(next.LockoutThreshold > p.LockoutThreshold, "lockout_threshold")
	add(next.Indicators.Epsilon > p.Indicators.Epsilon, "indicators.epsilon")
	add(next.Indicators.Delta > p.Indicators.Delta, "indicators.delta")
	cur, nr := p.EffectiveReview(), next.EffectiveReview()
	add(nr.Months > cur.Months, "review.months")
	add(nr.GraceDays > cur.GraceDays, "review.grace_days")
	add(periodRank(next.Indicators.Period) > periodRank(p.Indicators.Period) && next.Indicators.Epsilon >= p.Indicators.Epsilon, "indicators.period")
	return out
}

// Substantive reports whether a justification is one of substance: at
// least min characters, several words, not a placeholder (SEC-EXP-3).
func Substantive(justification string, min int) bool {
	j := strings.TrimSpace(justification)
	if len([]rune(j)) < min {
		return false
	}
	words := strings.Fields(strings.ToLower(j))
	distinct := map[string]bool{}
	for _, w := range words {
		if len([]rune(w)) >= 3 {
			distinct[w] = true
		}
	}
	return len(distinct) >= 5
}
