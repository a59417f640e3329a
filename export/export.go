package export

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rule generalizes one column.
type Rule struct {
	Column string  `json:"column"`
	Kind   string  `json:"kind"` // age-band, date-month, date-quarter, date-year, postcode-department, postcode-region, bin, keep, drop
	Width  float64 `json:"width,omitempty"`
}

// ParseRule parses "column:kind[:width]".
func ParseRule(s string) (Rule, error) {
	p := strings.Split(s, ":")
	if len(p) < 2 || len(p) > 3 || p[0] == "" {
		return Rule{}, fmt.Errorf("rule %q: want column:kind[:width]", s)
	}
	r := Rule{Column: p[0], Kind: p[1]}
	switch r.Kind {
	case "age-band", "bin":
		r.Width = 10
		if len(p) == 3 {
			w, err := strconv.ParseFloat(p[2], 64)
			if err != nil || w <= 0 || w > 1e9 {
				return Rule{}, fmt.Errorf("rule %q: width must be a positive number", s)
			}
			r.Width = w
		}
	case "date-month", "date-quarter", "date-year", "postcode-department", "postcode-region", "keep", "drop":
		if len(p) == 3 {
			return Rule{}, fmt.Errorf("rule %q: %s takes no width", s, r.Kind)
		}
	default:
		return Rule{}, fmt.Errorf("rule %q: unknown kind %q", s, r.Kind)
	}
	return r, nil
}

// Apply generalizes one value. ref is the reference date (age bands).
func (r Rule) Apply(v string, ref time.Time) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	switch r.Kind {
	case "age-band":
		y, err := strconv.Atoi(v[:min(4, len(v))])
		if err != nil {
			return "*"
		}
		age := ref.Year() - y
		w := int(r.Width)
		lo := age / w * w
		if lo >= 90 {
			return "90+"
		}
		return fmt.Sprintf("%d-%d", lo, lo+w-1)
	case "date-month":
		if len(v) >= 7 {
			return v[:7]
		}
		return "*"
	case "date-quarter":
		if len(v) >= 7 {
			m, _ := strconv.Atoi(v[5:7])
			return fmt.Sprintf("%s-Q%d", v[:4], (m+2)/3)
		}
		return "*"
	case "date-year":
		if len(v) >= 4 {
			return v[:4]
		}
		return "*"
	case "postcode-department":
		if len(v) >= 2 {
			if strings.HasPrefix(v, "97") && len(v) >= 3 {
				return v[:3]
			}
			return v[:2]
		}
		return "*"
	case "postcode-region":
		return region(v)
	case "bin":
		f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
		if err != nil {
			return "*"
		}
		lo := math.Floor(f/r.Width) * r.Width
		return fmt.Sprintf("[%g,%g)", lo, lo+r.Width)
	case "drop":
		return ""
	}
	return v
}

// region maps a department (or postal code) to a coarse zone (first digit;
// overseas and Corsica apart).
func region(v string) string {
	switch {
	case strings.HasPrefix(v, "97"), strings.HasPrefix(v, "98"):
		return "outre-mer"
	case strings.HasPrefix(v, "2A"), strings.HasPrefix(v, "2B"), strings.HasPrefix(v, "20"):
		return "corse"
	case len(v) >= 1:
		return "zone-" + v[:1]
	}
	return "*"
}

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
	Request            Request        `json:"request"`
}

// ErrRequest is wrapped by invalid requests.
var ErrRequest = errors.New("export: invalid request")

var (
	uidRe     = regexp.MustCompile(`^\d+(\.\d+){3,}$`)
	tokenRe   = regexp.MustCompile(`^[a-z2-7]{26,}$|^[0-9a-f]{24,}$`)
	dateRe    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
	linkNames = []string{"pseudonym", "record_id", "batch", "image_key", "image_sha256", "study_uid", "series_uid", "sop_uid", "physician_pseudonym", "notes", "nir", "ppi", "iep", "email", "phone", "address"}
)

type class struct {
	rows    int64
	persons int64
	sens    []map[string]int64
}

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
func (req *Request) classKey(row map[string]string, b *strings.Builder) string {
	b.Reset()
	for i, q := range req.QuasiIdentifiers {
		if i > 0 {
			b.WriteByte(0x1f)
		}
		b.WriteString(req.rule(q).Apply(row[q], req.Reference))
	}
	return b.String()
}

// Check runs the gate. It never returns row values in the report.
func Check(ctx context.Context, src RowSource, req Request) (*Report, error) {
	if err := req.validate(src.Columns()); err != nil {
		return nil, err
	}
	rep := &Report{Request: req, Histogram: map[string]int{}}
	classes := map[string]*class{}
	seed := maphash.MakeSeed()
	seen := newSet(1 << 16)    // (class, person) pairs
	persons := newSet(1 << 16) // persons
	global := make([]map[string]int64, len(req.Sensitive))
	for i := range global {
		global[i] = map[string]int64{}
	}
	colDistinct := map[string]map[uint64]struct{}{}
	for _, c := range append(append([]string{}, req.QuasiIdentifiers...), req.Sensitive...) {
		colDistinct[c] = map[uint64]struct{}{}
	}
	contentFind := map[string]string{}
	var b strings.Builder
	err := src.Rows(ctx, func(row map[string]string) error {
		rep.Rows++
		key := req.classKey(row, &b)
		c := classes[key]
		if c == nil {
			c = &class{sens: make([]map[string]int64, len(req.Sensitive))}
			for i := range c.sens {
				c.sens[i] = map[string]int64{}
			}
			classes[key] = c
		}
		c.rows++
		person := row[req.PersonColumn]
		if req.PersonColumn == "" {
			person = strconv.FormatInt(rep.Rows, 10)
		}
		persons.add(maphash.String(seed, person))
		if seen.add(maphash.String(seed, key+"\x00"+person)) {
			c.persons++
		}
		for i, s := range req.Sensitive {
			c.sens[i][row[s]]++
			global[i][row[s]]++
		}
		if rep.Rows <= 1000 {
			for _, col := range append(append([]string{}, req.QuasiIdentifiers...), req.Sensitive...) {
				v := req.rule(col).Apply(row[col], req.Reference)
				switch {
				case uidRe.MatchString(v):
					contentFind[col] = "holds UIDs"
				case tokenRe.MatchString(v):
					contentFind[col] = "holds tokens or pseudonyms"
				case dateRe.MatchString(v):
					contentFind[col] = "holds exact dates (generalize to month, quarter or year)"
				case len(v) > 60 && strings.Count(v, " ") > 5:
					contentFind[col] = "holds free text"
				}
			}
		}
		if rep.Rows <= 100_000 {
			for col, v := range row {
				if m, ok := colDistinct[col]; ok && v != "" {
					m[maphash.String(seed, v)] = struct{}{}
				}
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	seen = nil
	rep.Persons = int64(persons.len())
	persons = nil
	// Suppression: classes below k (counted in persons) go if within the limit.
	var below int64
	for _, c := range classes {
		if c.persons < int64(req.K) {
			below += c.rows
		}
	}
	suppress := below > 0 && float64(below) <= req.MaxSuppression*float64(rep.Rows)
	if suppress {
		rep.Suppressed = below
		var idx int64
		src.Rows(ctx, func(row map[string]string) error {
			if classes[req.classKey(row, &b)].persons < int64(req.K) {
				if len(rep.SuppressedRowIndex) < 10000 {
					rep.SuppressedRowIndex = append(rep.SuppressedRowIndex, idx)
				}
			}
			idx++
			return nil
		})
		for k, c := range classes {
			if c.persons < int64(req.K) {
				delete(classes, k)
			}
		}
	}
	rep.Classes = int64(len(classes))
	rep.SmallestClass = math.MaxInt64
	rep.DistinctL, rep.EntropyL = math.MaxInt, math.Inf(1)
	kept := rep.Rows - rep.Suppressed
	for _, c := range classes {
		if c.persons < rep.SmallestClass {
			rep.SmallestClass = c.persons
		}
		if c.persons < int64(req.K) {
			rep.ClassesBelowK++
		}
		rep.Histogram[bucket(c.persons)]++
		r := 1 / float64(c.persons)
		if r > rep.RiskMax {
			rep.RiskMax = r
		}
		if r > req.RiskThreshold {
			rep.RowsAtRisk += c.rows
		}
		for i := range req.Sensitive {
			d := len(c.sens[i])
			if d < rep.DistinctL {
				rep.DistinctL = d
			}
			if e := entropyL(c.sens[i], c.rows); e < rep.EntropyL {
				rep.EntropyL = e
			}
			if req.T > 0 {
				if t := emd(c.sens[i], c.rows, global[i], rep.Rows); t > rep.MaxT {
					rep.MaxT = t
				}
			}
		}
	}
	if len(classes) == 0 {
		rep.SmallestClass = 0
	}
	if len(req.Sensitive) == 0 {
		rep.DistinctL, rep.EntropyL = 0, 0
	}
	if rep.Classes > 0 && kept > 0 {
		rep.RiskAvg = float64(rep.Classes) / float64(rep.Persons)
	}
	// Output columns: QIs and sensitive only; the person column is dropped.
	for _, q := range req.QuasiIdentifiers {
		if req.rule(q).Kind != "drop" {
			rep.OutputColumns = append(rep.OutputColumns, q)
		}
	}
	rep.OutputColumns = append(rep.OutputColumns, req.Sensitive...)
	// Linkability over the released columns.
	sample := min(rep.Rows, 100_000)
	for _, col := range rep.OutputColumns {
		name := strings.ToLower(col)
		for _, l := range linkNames {
			if name == l || strings.HasSuffix(name, "_uid") || strings.HasSuffix(name, "_id") {
				rep.Linkability = append(rep.Linkability, fmt.Sprintf("column %s is an identifier or link by name", col))
				break
			}
		}
		if f, ok := contentFind[col]; ok {
			rep.Linkability = append(rep.Linkability, "column "+col+" "+f)
		}
		g := req.rule(col)
		if g.Kind == "keep" && sample >= 20 && float64(len(colDistinct[col])) >= 0.9*float64(sample) {
			rep.Linkability = append(rep.Linkability, fmt.Sprintf("column %s is unique per record (%d distinct of %d)", col, len(colDistinct[col]), sample))
		}
	}
	pass := true
	add := func(ok bool, reason string) {
		if !ok {
			pass = false
			rep.Reasons = append(rep.Reasons, reason)
		}
	}
	kOK := rep.Classes > 0 && rep.SmallestClass >= int64(req.K)
	add(kOK, fmt.Sprintf("k-anonymity: smallest class has %d persons, k=%d (%d rows in classes below k, suppression limit %.0f%%)", rep.SmallestClass, req.K, below, req.MaxSuppression*100))
	rep.SinglingOut = Criterion{Pass: kOK, Evidence: []string{
		fmt.Sprintf("%d persons, %d rows, %d equivalence classes over %v", rep.Persons, rep.Rows, rep.Classes, req.QuasiIdentifiers),
		fmt.Sprintf("smallest class: %d persons (k=%d required)", rep.SmallestClass, req.K),
		fmt.Sprintf("suppressed rows: %d (limit %.1f%% of rows)", rep.Suppressed, req.MaxSuppression*100),
		fmt.Sprintf("prosecutor risk: max %.3f, average %.3f; %d rows above %.3f", rep.RiskMax, rep.RiskAvg, rep.RowsAtRisk, req.RiskThreshold),
	}}
	linkOK := len(rep.Linkability) == 0
	add(linkOK, "linkability: "+strings.Join(rep.Linkability, "; "))
	rep.Linkable = Criterion{Pass: linkOK, Evidence: append([]string{"person column dropped; released columns: " + strings.Join(rep.OutputColumns, ", ")}, rep.Linkability...)}
	lOK := len(req.Sensitive) == 0 || rep.DistinctL >= req.L
	tOK := req.T == 0 || rep.MaxT <= req.T
	add(lOK, fmt.Sprintf("l-diversity: a class has %d distinct sensitive values, l=%d", rep.DistinctL, req.L))
	add(tOK, fmt.Sprintf("t-closeness: max distance %.3f > t=%.3f", rep.MaxT, req.T))
	rep.Inference = Criterion{Pass: lOK && tOK, Evidence: []string{
		fmt.Sprintf("distinct l-diversity: min %d (l=%d required)", rep.DistinctL, req.L),
		fmt.Sprintf("entropy l-diversity: min %.2f", rep.EntropyL),
		fmt.Sprintf("t-closeness: max %.3f (t=%g, 0 = not checked)", rep.MaxT, req.T),
	}}
	rep.Pass = pass
	sort.Strings(rep.Reasons)
	return rep, nil
}

func bucket(n int64) string {
	switch {
	case n < 2:
		return "1"
	case n < 5:
		return "2-4"
	case n < 10:
		return "5-9"
	case n < 20:
		return "10-19"
	case n < 50:
		return "20-49"
	case n < 100:
		return "50-99"
	}
	return "100+"
}

// entropyL returns exp(entropy) of a class's sensitive values.
func entropyL(m map[string]int64, n int64) float64 {
	h := 0.0
	for _, c := range m {
		p := float64(c) / float64(n)
		h -= p * math.Log(p)
	}
	return math.Exp(h)
}

// emd is the earth mover's distance for categorical values: half the L1
// distance between the class and the table distributions.
func emd(m map[string]int64, n int64, g map[string]int64, gn int64) float64 {
	d := 0.0
	for v, c := range g {
		d += math.Abs(float64(m[v])/float64(n) - float64(c)/float64(gn))
	}
	return d / 2
}

// Apply streams the released table: generalized QIs and sensitive columns
// of the rows not suppressed, without the person column.
func Apply(ctx context.Context, src RowSource, rep *Report, emit func(vals []string) error) error {
	req := rep.Request
	drop := map[int64]bool{}
	for _, i := range rep.SuppressedRowIndex {
		drop[i] = true
	}
	if int64(len(rep.SuppressedRowIndex)) < rep.Suppressed {
		return errors.New("export: too many suppressed rows to apply by index")
	}
	var idx int64
	return src.Rows(ctx, func(row map[string]string) error {
		defer func() { idx++ }()
		if drop[idx] {
			return nil
		}
		vals := make([]string, 0, len(rep.OutputColumns))
		for _, c := range rep.OutputColumns {
			vals = append(vals, req.rule(c).Apply(row[c], req.Reference))
		}
		return emit(vals)
	})
}
