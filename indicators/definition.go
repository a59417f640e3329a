package indicators

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"hdw/configs"
	"hdw/criteria"
)

// Measures an indicator computes.
const (
	Count     = "count"     // rows per group, at most MaxRowsPerGroup per person
	Sum       = "sum"       // sum of Column, each value clamped to [Lower, Upper]
	Mean      = "mean"      // mean of Column, clamped
	Quantiles = "quantiles" // quantiles of Column at the given ranks, clamped
	Histogram = "histogram" // rows per group and bucket of Column
)

// Noise kinds.
const (
	Laplace  = "laplace"
	Gaussian = "gaussian"
)

// Floors and defaults. A definition may tighten them, never loosen them.
const (
	// DefaultEpsilon is the epsilon of one run when the definition names none.
	DefaultEpsilon = 0.5
	// MaxEpsilon is the largest epsilon one run may spend.
	MaxEpsilon = 2.0
	// DefaultDelta is the delta of one run (private group selection needs one).
	DefaultDelta = 1e-6
	// MaxDelta is the largest delta one run may spend.
	MaxDelta = 1e-5
	// MinPersonsFloor is the smallest small-cell threshold a definition may
	// set: a group of fewer persons is never released, noise or not.
	MinPersonsFloor = 5
	// DefaultMinPersons is the small-cell threshold when the definition names none.
	DefaultMinPersons = 10
	// MaxGroupsPerPersonCap bounds MaxGroupsPerPerson.
	MaxGroupsPerPersonCap = 100
	// MaxRowsPerGroupCap bounds MaxRowsPerGroup.
	MaxRowsPerGroupCap = 100
	// Alpha is the confidence intervals' risk: 95% intervals.
	Alpha = 0.05
	// MaxDefinitionBytes bounds a definition file.
	MaxDefinitionBytes = 64 << 10
)

// ErrDefinition is wrapped by every error about a definition (callers map
// it to a usage error).
var ErrDefinition = errors.New("indicators: bad definition")

// Definition is an indicator as it is approved and run. Its JSON form is
// the definition file (JSON or YAML with the same field names).
type Definition struct {
	Name    string   `json:"name" yaml:"name"`
	Measure string   `json:"measure" yaml:"measure"`
	Column  string   `json:"column,omitempty" yaml:"column,omitempty"`
	GroupBy []string `json:"group_by,omitempty" yaml:"group_by,omitempty"` // column, column:month, column:year, column:band:N
	Filter  string   `json:"filter,omitempty" yaml:"filter,omitempty"`     // CEL, package criteria
	// Lower and Upper clamp the values of Column (sum, mean, quantiles, histogram).
	Lower float64 `json:"lower,omitempty" yaml:"lower,omitempty"`
	Upper float64 `json:"upper,omitempty" yaml:"upper,omitempty"`
	// Ranks of the quantiles, in (0, 1).
	Ranks []float64 `json:"ranks,omitempty" yaml:"ranks,omitempty"`
	// Buckets are the histogram's boundaries, increasing: [b0,b1), [b1,b2) ...
	Buckets []float64 `json:"buckets,omitempty" yaml:"buckets,omitempty"`
	// MaxGroupsPerPerson is how many groups one person counts in (L0); default 1.
	MaxGroupsPerPerson int64 `json:"max_groups_per_person,omitempty" yaml:"max_groups_per_person,omitempty"`
	// MaxRowsPerGroup is how many of a person's rows count in one group (Linf); default 1.
	MaxRowsPerGroup int64   `json:"max_rows_per_group,omitempty" yaml:"max_rows_per_group,omitempty"`
	Epsilon         float64 `json:"epsilon,omitempty" yaml:"epsilon,omitempty"`
	Delta           float64 `json:"delta,omitempty" yaml:"delta,omitempty"`
	Noise           string  `json:"noise,omitempty" yaml:"noise,omitempty"`
	// MinPersons is the small-cell threshold (persons per group).
	MinPersons int64 `json:"min_persons,omitempty" yaml:"min_persons,omitempty"`
}

// ParseDefinition reads a JSON definition (unknown fields refused) and
// fills its defaults. It does not check it against a dictionary: [Compile] does.
func ParseDefinition(r io.Reader) (Definition, error) {
	var d Definition
	data, err := io.ReadAll(io.LimitReader(r, MaxDefinitionBytes+1))
	if err != nil {
		return d, err
	}
	if len(data) > MaxDefinitionBytes {
		return d, fmt.Errorf("%w: over %d bytes", ErrDefinition, MaxDefinitionBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("%w: %v", ErrDefinition, err)
	}
	if dec.More() {
		return d, fmt.Errorf("%w: trailing data after the definition", ErrDefinition)
	}
	d.fill()
	return d, d.validate()
}

func (d *Definition) fill() {
	d.Name = strings.TrimSpace(d.Name)
	d.Measure = strings.ToLower(strings.TrimSpace(d.Measure))
	if d.MaxGroupsPerPerson == 0 {
		d.MaxGroupsPerPerson = 1
	}
	if d.MaxRowsPerGroup == 0 {
		d.MaxRowsPerGroup = 1
	}
	if d.Epsilon == 0 {
		d.Epsilon = DefaultEpsilon
	}
	if d.Delta == 0 {
		d.Delta = DefaultDelta
	}
	if d.Noise == "" {
		d.Noise = Laplace
	}
	if d.MinPersons == 0 {
		d.MinPersons = DefaultMinPersons
	}
	if d.Measure == Quantiles && len(d.Ranks) == 0 {
		d.Ranks = []float64{0.25, 0.5, 0.75}
	}
}

// ValidName reports whether n is a usable indicator name: 1 to 64 of
// [a-z0-9-_], starting with a letter or digit.
func ValidName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_')) {
			return false
		}
	}
	return true
}

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrDefinition, fmt.Sprintf(format, a...))
}

// validate checks what does not need the dictionary.
func (d *Definition) validate() error {
	if !ValidName(d.Name) {
		return bad("name must be 1-64 of a-z, 0-9, '-', '_'")
	}
	switch d.Measure {
	case Count:
	case Sum, Mean, Quantiles, Histogram:
		if d.Column == "" {
			return bad("measure %s needs a column", d.Measure)
		}
		if d.Measure != Histogram && !(d.Lower < d.Upper) {
			return bad("measure %s needs lower < upper (the clamping bounds)", d.Measure)
		}
	default:
		return bad("measure must be count, sum, mean, quantiles or histogram")
	}
	if d.Measure == Count && d.Column != "" {
		return bad("count takes no column (group or filter by it instead)")
	}
	for _, f := range []float64{d.Lower, d.Upper, d.Epsilon, d.Delta} {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("numbers must be finite")
		}
	}
	if d.Measure == Quantiles {
		for _, r := range d.Ranks {
			if !(r > 0 && r < 1) {
				return bad("quantile ranks must be in (0, 1)")
			}
		}
		if len(d.Ranks) > 20 {
			return bad("at most 20 quantile ranks")
		}
	}
	if d.Measure == Histogram {
		if len(d.Buckets) < 2 || len(d.Buckets) > 101 {
			return bad("a histogram needs 2 to 101 increasing bucket boundaries")
		}
		for i := 1; i < len(d.Buckets); i++ {
			if !(d.Buckets[i] > d.Buckets[i-1]) || math.IsInf(d.Buckets[i], 0) {
				return bad("histogram buckets must be finite and increasing")
			}
		}
	}
	if len(d.GroupBy) > 4 {
		return bad("at most 4 grouping columns")
	}
	if d.MaxGroupsPerPerson < 1 || d.MaxGroupsPerPerson > MaxGroupsPerPersonCap {
		return bad("max_groups_per_person must be 1 to %d", MaxGroupsPerPersonCap)
	}
	if d.MaxRowsPerGroup < 1 || d.MaxRowsPerGroup > MaxRowsPerGroupCap {
		return bad("max_rows_per_group must be 1 to %d", MaxRowsPerGroupCap)
	}
	if !(d.Epsilon > 0 && d.Epsilon <= MaxEpsilon) {
		return bad("epsilon must be in (0, %g]", MaxEpsilon)
	}
	if !(d.Delta > 0 && d.Delta <= MaxDelta) {
		return bad("delta must be in (0, %g]", MaxDelta)
	}
	if d.Noise != Laplace && d.Noise != Gaussian {
		return bad("noise must be laplace or gaussian")
	}
	if d.MinPersons < MinPersonsFloor {
		return bad("min_persons may not be below %d (small-cell threshold)", MinPersonsFloor)
	}
	return nil
}

// Hash returns the SHA-256 of the definition's canonical JSON: what an
// approval is bound to.
func (d Definition) Hash() string {
	b, _ := json.Marshal(d)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// grouping is one compiled group_by entry.
type grouping struct {
	col  string
	kind string // "", "month", "year", "band"
	band int64
}

func (g grouping) label(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	switch g.kind {
	case "month":
		if len(v) >= 7 {
			return v[:7]
		}
		return ""
	case "year":
		if len(v) >= 4 {
			return v[:4]
		}
		return ""
	case "band":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return ""
		}
		lo := int64(math.Floor(f/float64(g.band))) * g.band
		return fmt.Sprintf("%d-%d", lo, lo+g.band-1)
	}
	return v
}

// Plan is a definition checked against the dictionary, ready to run.
type Plan struct {
	Def    Definition
	groups []grouping
	filter *criteria.Criterion
}

// readable are the categories an indicator may read.
var readable = []string{configs.CatHealth, configs.CatDerived}

// Compile checks d against the dictionary: the measured and grouping
// columns must be health or derived columns of a fitting type, the filter
// must compile. Errors wrap [ErrDefinition] (or are *criteria.Error).
func Compile(d Definition, dict *configs.Dictionary) (*Plan, error) {
	d.fill()
	if err := d.validate(); err != nil {
		return nil, err
	}
	p := &Plan{Def: d}
	col := func(name string) (configs.Column, error) {
		c, ok := dict.Lookup(name)
		if !ok {
			return c, bad("unknown column %q: not in the data dictionary", name)
		}
		if !slices.Contains(readable, c.Category) {
			return c, bad("column %s is %s data: indicators read health and derived columns only", c.Name, c.Category)
		}
		return c, nil
	}
	if d.Column != "" {
		c, err := col(d.Column)
		if err != nil {
			return nil, err
		}
		if c.Type != "int" && c.Type != "float" {
			return nil, bad("column %s is %s: %s needs a number column", c.Name, c.Type, d.Measure)
		}
	}
	seen := map[string]bool{}
	for _, g := range d.GroupBy {
		parts := strings.Split(strings.TrimSpace(g), ":")
		c, err := col(parts[0])
		if err != nil {
			return nil, err
		}
		if seen[c.Name] {
			return nil, bad("column %s grouped twice", c.Name)
		}
		seen[c.Name] = true
		gr := grouping{col: c.Name}
		switch {
		case len(parts) == 1:
			if c.Type == "date" || c.Type == "float" {
				return nil, bad("group by %s:month or %s:year (a %s is too fine to group by)", c.Name, c.Name, c.Type)
			}
		case len(parts) == 2 && (parts[1] == "month" || parts[1] == "year") && c.Type == "date":
			gr.kind = parts[1]
		case len(parts) == 3 && parts[1] == "band" && (c.Type == "int" || c.Type == "float"):
			n, err := strconv.ParseInt(parts[2], 10, 64)
			if err != nil || n < 1 || n > 1_000_000 {
				return nil, bad("band width of %s must be 1 to 1000000", c.Name)
			}
			gr.kind, gr.band = "band", n
		default:
			return nil, bad("group_by %q: write column, date:month, date:year or number:band:N", g)
		}
		p.groups = append(p.groups, gr)
	}
	if strings.TrimSpace(d.Filter) != "" {
		f, err := criteria.Compile(d.Filter, criteria.FromDictionary(dict, readable))
		if err != nil {
			return nil, err
		}
		p.filter = f
		p.Def.Filter = f.String()
	}
	return p, nil
}

// Columns returns the columns the plan reads (besides the person).
func (p *Plan) Columns() []string {
	var cols []string
	if p.Def.Column != "" {
		cols = append(cols, p.Def.Column)
	}
	for _, g := range p.groups {
		cols = append(cols, g.col)
	}
	if p.filter != nil {
		cols = append(cols, p.filter.Columns()...)
	}
	slices.Sort(cols)
	return slices.Compact(cols)
}
