package export

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Request is what to check.
type Request struct {
	QuasiIdentifiers []string  `json:"quasi_identifiers"`
	Sensitive        []string  `json:"sensitive"`
	PersonColumn     string    `json:"person_column"` // grouped by, then dropped
	K                int       `json:"k"`
	L                int       `json:"l"`
	T                float64   `json:"t,omitempty"` // 0: t-closeness off
	MaxSuppression   float64   `json:"max_suppression"`
	RiskThreshold    float64   `json:"risk_threshold"`
	Rules            []Rule    `json:"rules"`
	Reference        time.Time `json:"reference"`
	// ExportPseudonyms adds ExportPseudonymColumn: an HMAC of the person
	// under a fresh key of this release only, never stored (SEC-EXP-1).
	ExportPseudonyms bool `json:"export_pseudonyms,omitempty"`
	// DictionaryQIs are the quasi-identifiers the dictionary imposed
	// (set by [Gate.Check]); the rest of QuasiIdentifiers were added.
	DictionaryQIs []string `json:"dictionary_quasi_identifiers,omitempty"`
}

// ExportPseudonymColumn is the released column of export-scoped pseudonyms.
const ExportPseudonymColumn = "export_pseudonym"

// G29 criteria (Article 29 Working Party, opinion 05/2014) that each
// measure answers (SEC-EXP-1).
const (
	G29SinglingOut = "singling out"
	G29Linkability = "linkability"
	G29Inference   = "inference"
)

// Measure is one check of the gate with its measured value, what was
// required, and the G29 criterion it answers.
type Measure struct {
	Name      string  `json:"name"`
	Criterion string  `json:"g29_criterion"`
	Value     float64 `json:"value"`
	Required  string  `json:"required"`
	Pass      bool    `json:"pass"`
}

// RowSource yields rows as column -> value; Rows may be called more than once.
type RowSource interface {
	Columns() []string
	Rows(ctx context.Context, fn func(row map[string]string) error) error
}

// Criterion is the evidence for one G29 criterion.
type Criterion struct {
	Pass     bool     `json:"pass"`
	Evidence []string `json:"evidence"`
}

// Report is the documented proof of SEC-EXP-1.
type Report struct {
	Pass               bool           `json:"pass"`
	Reasons            []string       `json:"reasons,omitempty"`
	Rows               int64          `json:"rows"`
	Persons            int64          `json:"persons"`
	Classes            int64          `json:"classes"`
	SmallestClass      int64          `json:"smallest_class"`
	ClassesBelowK      int64          `json:"classes_below_k"`
	Suppressed         int64          `json:"suppressed_rows"`
	SuppressedRowIndex []int64        `json:"suppressed_row_indexes,omitempty"`
	DistinctL          int            `json:"min_distinct_l"`
	EntropyL           float64        `json:"min_entropy_l"`
	MaxT               float64        `json:"max_t,omitempty"`
	RiskMax            float64        `json:"prosecutor_risk_max"`
	RiskAvg            float64        `json:"prosecutor_risk_avg"`
	RowsAtRisk         int64          `json:"rows_above_risk_threshold"`
	Histogram          map[string]int `json:"class_size_histogram"`
	Linkability        []string       `json:"linkability_findings,omitempty"`
	OutputColumns      []string       `json:"output_columns"`
	SinglingOut        Criterion      `json:"g29_singling_out"`
	Linkable           Criterion      `json:"g29_linkability"`
	Inference          Criterion      `json:"g29_inference"`
	Measures           []Measure      `json:"measures"`
	Request            Request        `json:"request"`

	// ReleasedColumns are the columns of the released file, in its order
	// ([ReleaseLayout]: dictionary order, a generalized column under its
	// own name such as age_band_10y).
	ReleasedColumns []string `json:"released_columns,omitempty"`
}

// ErrRequest is wrapped by invalid requests.
var ErrRequest = errors.New("export: invalid request")

var (
	uidRe     = regexp.MustCompile(`^\d+(\.\d+){3,}$`)
	tokenRe   = regexp.MustCompile(`^[a-z2-7]{26,}$|^[0-9a-f]{24,}$`)
	dateRe    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
	linkNames = []string{"pseudonym", "record_id", "batch", "image_key", "image_sha256", "study_uid", "series_uid", "sop_uid", "physician_pseudonym", "notes", "nir", "ppi", "iep", "email", "phone", "address"}
)

func (req *Request) validate(cols []string) error {
	if req.K < 2 {
		return fmt.Errorf("%w: k must be at least 2", ErrRequest)
	}
	if req.L < 1 {
		req.L = 1
	}
	if req.MaxSuppression == 0 {
		req.MaxSuppression = 0.05
	}
	if req.RiskThreshold == 0 {
		req.RiskThreshold = 1 / float64(req.K)
	}
	if req.Reference.IsZero() {
		req.Reference = time.Now().UTC()
	}
	have := map[string]bool{}
	for _, c := range cols {
		have[c] = true
	}
	if len(req.QuasiIdentifiers) == 0 {
		return fmt.Errorf("%w: no quasi-identifiers", ErrRequest)
	}
	for _, c := range append(append([]string{}, req.QuasiIdentifiers...), req.Sensitive...) {
		if !have[c] {
			return fmt.Errorf("%w: column %q not in the table", ErrRequest, c)
		}
	}
	if req.ExportPseudonyms && req.PersonColumn == "" {
		return fmt.Errorf("%w: export pseudonyms need a person column", ErrRequest)
	}
	if req.PersonColumn != "" && !have[req.PersonColumn] {
		return fmt.Errorf("%w: person column %q not in the table", ErrRequest, req.PersonColumn)
	}
	return nil
}

func (req *Request) rule(col string) Rule {
	for _, r := range req.Rules {
		if r.Column == col {
			return r
		}
	}
	return Rule{Column: col, Kind: "keep"}
}

// classKey returns the generalized QI tuple of a row.
