package export

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	mrand "math/rand/v2"
	"regexp"
	"slices"
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
	sens    []map[string]float64 // person weight per value, per sensitive column
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

// Check runs the gate's engine over the quasi-identifiers and sensitive
// columns of req as given. It never returns row values in the report.
// Callers releasing data go through [Gate.Check], which makes the
// dictionary's quasi-identifiers and the policy's floors binding first.
//
// Counting (SEC-EXP-1): k counts persons (rows grouped by the person
// column); l and t count persons too: in each class a person weighs 1 for
// each sensitive column, split evenly over the distinct values they hold
// there, so one person with several diagnoses cannot make a class look
// diverse. A value counts toward distinct l once at least one person's
// worth of weight holds it.
func Check(ctx context.Context, src RowSource, req Request) (*Report, error) {
	if err := req.validate(src.Columns()); err != nil {
		return nil, err
	}
	rep := &Report{Request: req, Histogram: map[string]int{}}
	classes := map[string]*class{}
	seed := maphash.MakeSeed()
	persons := newSet(1 << 16) // persons
	// Person weights in one pass: each (class, person, column) first adds 1
	// to its value; a person holding several values there is remembered
	// (rare) and corrected at the end to 1/n per value.
	// (class, person) pairs, and for each sensitive column the first value
	// index+1 the person holds in the class (multiMark: several, in multi).
	first := newMap(1 << 16)
	const multiMark = ^uint32(0)
	type multiVal struct {
		c    *class
		i    int
		vals []uint32
	}
	multi := map[uint64]*multiVal{}
	intern := make([]map[string]uint32, len(req.Sensitive))
	values := make([][]string, len(req.Sensitive))
	for i := range intern {
		intern[i] = map[string]uint32{}
	}
	var h maphash.Hash
	h.SetSeed(seed)
	colDistinct := map[string]map[uint64]struct{}{}
	for _, c := range append(append([]string{}, req.QuasiIdentifiers...), req.Sensitive...) {
		colDistinct[c] = map[uint64]struct{}{}
	}
	contentFind := map[string]string{}
	var b strings.Builder
	personOf := func(row map[string]string, n int64) string {
		if req.PersonColumn == "" {
			return strconv.FormatInt(n, 10)
		}
		return row[req.PersonColumn]
	}
	err := src.Rows(ctx, func(row map[string]string) error {
		rep.Rows++
		key := req.classKey(row, &b)
		c := classes[key]
		if c == nil {
			c = &class{sens: make([]map[string]float64, len(req.Sensitive))}
			for i := range c.sens {
				c.sens[i] = map[string]float64{}
			}
			classes[key] = c
		}
		c.rows++
		person := personOf(row, rep.Rows)
		persons.add(maphash.String(seed, person))
		h.Reset()
		h.WriteString(key)
		h.WriteByte(0)
		h.WriteString(person)
		kp := h.Sum64()
		if _, fresh := first.slot(kp); fresh {
			c.persons++
		}
		for i, s := range req.Sensitive {
			v := row[s]
			vi, ok := intern[i][v]
			if !ok {
				vi = uint32(len(values[i]))
				v = strings.Clone(v)
				intern[i][v] = vi
				values[i] = append(values[i], v)
			}
			pc := kp // column 0 shares the (class, person) slot
			if i > 0 {
				pc = mix64(kp + uint64(i)*0x9e3779b97f4a7c15)
			}
			fs, _ := first.slot(pc)
			switch e := fs.v; {
			case e == 0:
				fs.v = vi + 1
			case e == vi+1:
				continue // the person's first value again
			case e == multiMark:
				m := multi[pc]
				if slices.Contains(m.vals, vi) {
					continue
				}
				m.vals = append(m.vals, vi)
			default:
				multi[pc] = &multiVal{c: c, i: i, vals: []uint32{e - 1, vi}}
				fs.v = multiMark
			}
			c.sens[i][values[i][vi]]++
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
	// A person holding n values in a class weighs 1/n on each (l and t in persons).
	for _, m := range multi {
		w := 1 - 1/float64(len(m.vals))
		for _, vi := range m.vals {
			m.c.sens[m.i][values[m.i][vi]] -= w
		}
	}
	first, multi = nil, nil
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
	// The released table's distribution, person-weighted, for t.
	global := make([]map[string]float64, len(req.Sensitive))
	for i := range global {
		global[i] = map[string]float64{}
		for _, c := range classes {
			for v, w := range c.sens[i] {
				global[i][v] += w
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
			if d := distinctL(c.sens[i]); d < rep.DistinctL {
				rep.DistinctL = d
			}
			if e := entropyL(c.sens[i]); e < rep.EntropyL {
				rep.EntropyL = e
			}
			if req.T > 0 {
				if t := emd(c.sens[i], global[i]); t > rep.MaxT {
					rep.MaxT = t
				}
			}
		}
	}
	if len(classes) == 0 {
		rep.SmallestClass = 0
	}
	if len(req.Sensitive) == 0 || len(classes) == 0 {
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
	if req.ExportPseudonyms {
		// SEC-EXP-1 linkability: a pseudonym of this export only (fresh
		// key, never stored), so rows of one person link inside the
		// release and nowhere else.
		rep.OutputColumns = append(rep.OutputColumns, ExportPseudonymColumn)
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
	pseud := "no pseudonym released"
	if req.ExportPseudonyms {
		pseud = "export-scoped pseudonyms (fresh key, discarded after the release)"
	}
	rep.Linkable = Criterion{Pass: linkOK, Evidence: append([]string{
		"person column dropped; released columns: " + strings.Join(rep.OutputColumns, ", "),
		"rows shuffled with a fresh random key; " + pseud,
	}, rep.Linkability...)}
	lOK := len(req.Sensitive) == 0 || rep.DistinctL >= req.L
	tOK := req.T == 0 || rep.MaxT <= req.T
	add(lOK, fmt.Sprintf("l-diversity: a class has %d distinct sensitive values counted in persons, l=%d", rep.DistinctL, req.L))
	add(tOK, fmt.Sprintf("t-closeness: max distance %.3f > t=%.3f", rep.MaxT, req.T))
	rep.Inference = Criterion{Pass: lOK && tOK, Evidence: []string{
		fmt.Sprintf("distinct l-diversity in persons: min %d (l=%d required)", rep.DistinctL, req.L),
		fmt.Sprintf("entropy l-diversity in persons: min %.2f", rep.EntropyL),
		fmt.Sprintf("t-closeness: max %.3f (t=%g, 0 = not checked)", rep.MaxT, req.T),
	}}
	rep.Measures = []Measure{
		{Name: "k-anonymity (smallest class, persons)", Criterion: G29SinglingOut, Value: float64(rep.SmallestClass), Required: fmt.Sprintf(">= %d", req.K), Pass: kOK},
		{Name: "suppressed rows", Criterion: G29SinglingOut, Value: float64(rep.Suppressed), Required: fmt.Sprintf("<= %.1f%% of %d rows", req.MaxSuppression*100, rep.Rows), Pass: rep.Suppressed == 0 || suppress},
		{Name: "prosecutor risk (max)", Criterion: G29SinglingOut, Value: rep.RiskMax, Required: fmt.Sprintf("<= %.3f", 1/float64(req.K)), Pass: kOK},
		{Name: "linkability findings", Criterion: G29Linkability, Value: float64(len(rep.Linkability)), Required: "0", Pass: linkOK},
		{Name: "rows shuffled (fresh key)", Criterion: G29Linkability, Value: 1, Required: "1", Pass: true},
		{Name: "warehouse or workspace pseudonyms released", Criterion: G29Linkability, Value: 0, Required: "0", Pass: true},
		{Name: "distinct l-diversity (persons)", Criterion: G29Inference, Value: float64(rep.DistinctL), Required: fmt.Sprintf(">= %d", req.L), Pass: lOK},
		{Name: "entropy l-diversity (persons)", Criterion: G29Inference, Value: rep.EntropyL, Required: "reported", Pass: true},
	}
	if req.T > 0 {
		rep.Measures = append(rep.Measures, Measure{Name: "t-closeness (max EMD)", Criterion: G29Inference, Value: rep.MaxT, Required: fmt.Sprintf("<= %g", req.T), Pass: tOK})
	}
	rep.Pass = pass
	sort.Strings(rep.Reasons)
	return rep, nil
}

// mix64 is the splitmix64 finalizer: it spreads combined hashes.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
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

// distinctL counts the values held by at least one person's worth of
// weight (a person's weight is split over the values they hold).
func distinctL(m map[string]float64) int {
	n := 0
	for _, w := range m {
		if w >= 1-1e-9 {
			n++
		}
	}
	return n
}

// entropyL returns exp(entropy) of a class's person-weighted sensitive values.
func entropyL(m map[string]float64) float64 {
	total := 0.0
	for _, w := range m {
		total += w
	}
	if total == 0 {
		return 0
	}
	h := 0.0
	for _, w := range m {
		if w > 0 {
			p := w / total
			h -= p * math.Log(p)
		}
	}
	return math.Exp(h)
}

// emd is the earth mover's distance for categorical values: half the L1
// distance between the class and the table distributions (person-weighted).
func emd(m, g map[string]float64) float64 {
	var n, gn float64
	for _, w := range m {
		n += w
	}
	for _, w := range g {
		gn += w
	}
	if n == 0 || gn == 0 {
		return 0
	}
	d := 0.0
	for v, c := range g {
		d += math.Abs(m[v]/n - c/gn)
	}
	return d / 2
}

// Apply streams the released table: generalized QIs and sensitive columns
// of the rows not suppressed, without the person column, in a random order
// drawn from a fresh key (SEC-EXP-1 linkability: the release cannot be
// lined up with the health table's order or with another release). With
// Request.ExportPseudonyms the last column is a pseudonym under a fresh
// key of this call, discarded when it returns.
//
// The rows are held interned (a 4-byte index per cell) to be shuffled.
func Apply(ctx context.Context, src RowSource, rep *Report, emit func(vals []string) error) error {
	req := rep.Request
	drop := map[int64]bool{}
	for _, i := range rep.SuppressedRowIndex {
		drop[i] = true
	}
	if int64(len(rep.SuppressedRowIndex)) < rep.Suppressed {
		return errors.New("export: too many suppressed rows to apply by index")
	}
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return fmt.Errorf("export: random key: %w", err)
	}
	var pkey [32]byte
	if _, err := rand.Read(pkey[:]); err != nil {
		return fmt.Errorf("export: random key: %w", err)
	}
	defer clear(pkey[:])
	mac := hmac.New(sha256.New, pkey[:])
	ncol := len(rep.OutputColumns)
	intern := make([]map[string]uint32, ncol)
	vals := make([][]string, ncol)
	for i := range intern {
		intern[i] = map[string]uint32{}
	}
	var cells []uint32
	var idx int64
	err := src.Rows(ctx, func(row map[string]string) error {
		defer func() { idx++ }()
		if drop[idx] {
			return nil
		}
		for i, c := range rep.OutputColumns {
			var v string
			if c == ExportPseudonymColumn && req.ExportPseudonyms {
				mac.Reset()
				mac.Write([]byte(row[req.PersonColumn]))
				v = "X" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac.Sum(nil)[:15]))
			} else {
				v = req.rule(c).Apply(row[c], req.Reference)
			}
			n, ok := intern[i][v]
			if !ok {
				n = uint32(len(vals[i]))
				intern[i][v] = n
				vals[i] = append(vals[i], v)
			}
			cells = append(cells, n)
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	intern = nil
	rows := 0
	if ncol > 0 {
		rows = len(cells) / ncol
	}
	order := make([]int, rows)
	for i := range order {
		order[i] = i
	}
	mrand.New(mrand.NewChaCha8(seed)).Shuffle(rows, func(i, j int) { order[i], order[j] = order[j], order[i] })
	clear(seed[:])
	out := make([]string, ncol)
	for _, r := range order {
		for i := range out {
			out[i] = vals[i][cells[r*ncol+i]]
		}
		if err := emit(append([]string(nil), out...)); err != nil {
			return err
		}
	}
	return nil
}
