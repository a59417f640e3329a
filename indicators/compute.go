package indicators

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/differential-privacy/go/v3/dpagg"
	"github.com/google/differential-privacy/go/v3/noise"
)

// Rows is what [Compute] reads: every row of a table, each with its
// person's pseudonym (the privacy unit) and its cells by column name. The
// callback must not keep row after it returns. An error from fn stops the
// scan and is returned.
type Rows interface {
	Scan(ctx context.Context, fn func(person string, row map[string]string) error) error
}

// Value is one released value of one group.
type Value struct {
	Group  []string `json:"group"`            // the group's labels, in group_by order ("" for an empty cell)
	Bucket string   `json:"bucket,omitempty"` // histogram: [lo,hi)
	Rank   float64  `json:"rank,omitempty"`   // quantiles: the rank
	Value  float64  `json:"value"`
	// Lower and Upper bound the 95% confidence interval of the value
	// (Alpha); absent (NaN in Go, null in JSON) where the library gives
	// none (quantiles).
	Lower *float64 `json:"ci_lower"`
	Upper *float64 `json:"ci_upper"`
}

// NoiseParams are the parameters of a run, released with its values.
type NoiseParams struct {
	Noise              string  `json:"noise"`
	Epsilon            float64 `json:"epsilon"`               // the run's total
	Delta              float64 `json:"delta"`                 // the run's total
	SelectionEpsilon   float64 `json:"selection_epsilon"`     // private group selection
	SelectionDelta     float64 `json:"selection_delta"`       // private group selection
	MeasureEpsilon     float64 `json:"measure_epsilon"`       // the measure
	MeasureDelta       float64 `json:"measure_delta"`         // the measure (0 with Laplace)
	MaxGroupsPerPerson int64   `json:"max_groups_per_person"` // L0 sensitivity
	MaxRowsPerGroup    int64   `json:"max_rows_per_group"`    // Linf contributions
	Lower              float64 `json:"lower"`
	Upper              float64 `json:"upper"`
	MinPersons         int64   `json:"min_persons"` // small-cell threshold
	ConfidenceLevel    float64 `json:"confidence_level"`
}

// G29 says how each criterion of the Article 29 Working Party's opinion
// 05/2014 is met by a run.
type G29 struct {
	SinglingOut string `json:"singling_out"`
	Linkability string `json:"linkability"`
	Inference   string `json:"inference"`
}

// Result is one run's release. It holds no pseudonym, no row and no exact
// count of persons or rows.
type Result struct {
	Indicator string      `json:"indicator"`
	Measure   string      `json:"measure"`
	Column    string      `json:"column,omitempty"`
	GroupBy   []string    `json:"group_by,omitempty"`
	Filter    string      `json:"filter,omitempty"`
	Hash      string      `json:"definition_sha256"`
	Computed  time.Time   `json:"computed"`
	Params    NoiseParams `json:"noise_parameters"`
	Values    []Value     `json:"values"`
	G29       G29         `json:"g29"`
}

// Stats are figures of a run for the audit trail and tests: exact, never
// released with the values.
type Stats struct {
	Rows            int64 // rows read
	Matched         int64 // rows that passed the filter
	Persons         int64 // distinct persons among them
	Dropped         int64 // rows left out by the per-person bounds
	GroupsSeen      int64 // groups before selection
	GroupsReleased  int64
	GroupsThreshold int64 // groups below the small-cell threshold
}

// cell is one person's contribution to one group: how many rows and a
// uniform sample of at most MaxRowsPerGroup values (reservoir).
type cell struct {
	group string
	n     int64
	vals  []float64
}

type person struct {
	cells []cell
	idx   map[string]int // built once a person is in many groups
}

func (p *person) cell(group string) *cell {
	if p.idx != nil {
		if i, ok := p.idx[group]; ok {
			return &p.cells[i]
		}
	} else {
		for i := range p.cells {
			if p.cells[i].group == group {
				return &p.cells[i]
			}
		}
	}
	p.cells = append(p.cells, cell{group: group})
	if p.idx != nil {
		p.idx[group] = len(p.cells) - 1
	} else if len(p.cells) > 16 {
		p.idx = make(map[string]int, 32)
		for i := range p.cells {
			p.idx[p.cells[i].group] = i
		}
	}
	return &p.cells[len(p.cells)-1]
}

const sep = "\x1f"

// Compute runs the plan over rows. The noise comes from the library's
// secure random source; rng only samples which rows and groups of a person
// over the bounds count (nil: a fresh random source).
func Compute(ctx context.Context, p *Plan, rows Rows, rng *mrand.Rand) (*Result, Stats, error) {
	var st Stats
	d := p.Def
	if rng == nil {
		rng = mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	}
	persons := map[string]*person{}
	keyBuf := make([]string, 0, len(p.groups)+1)
	needValue := d.Measure != Count
	err := rows.Scan(ctx, func(pseudonym string, row map[string]string) error {
		st.Rows++
		if st.Rows&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if pseudonym == "" {
			return nil
		}
		if p.filter != nil && !p.filter.Match(row) {
			return nil
		}
		var v float64
		if needValue {
			f, err := strconv.ParseFloat(strings.TrimSpace(row[d.Column]), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil // no value: the row does not count for this measure
			}
			v = f
		}
		keyBuf = keyBuf[:0]
		for _, g := range p.groups {
			keyBuf = append(keyBuf, g.label(row[g.col]))
		}
		if d.Measure == Histogram {
			b := bucket(d.Buckets, v)
			if b == "" {
				return nil
			}
			keyBuf = append(keyBuf, b)
		}
		st.Matched++
		key := strings.Join(keyBuf, sep)
		pp := persons[pseudonym]
		if pp == nil {
			pp = &person{}
			persons[pseudonym] = pp
		}
		c := pp.cell(key)
		c.n++
		if needValue {
			// Reservoir sampling: each of the person's rows in the group
			// has the same chance to be among the MaxRowsPerGroup kept.
			if int64(len(c.vals)) < d.MaxRowsPerGroup {
				c.vals = append(c.vals, v)
			} else if j := rng.Int64N(c.n); j < d.MaxRowsPerGroup {
				c.vals[j] = v
			}
		}
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	st.Persons = int64(len(persons))

	pr := params(d)
	nz := noise.Laplace()
	if d.Noise == Gaussian {
		nz = noise.Gaussian()
	}
	groups := map[string]*agg{}
	for _, pp := range persons {
		cells := pp.cells
		if int64(len(cells)) > d.MaxGroupsPerPerson {
			// Bound the groups a person counts in: a uniform sample.
			rng.Shuffle(len(cells), func(i, j int) { cells[i], cells[j] = cells[j], cells[i] })
			for _, c := range cells[d.MaxGroupsPerPerson:] {
				st.Dropped += c.n
			}
			cells = cells[:d.MaxGroupsPerPerson]
		}
		for i := range cells {
			c := &cells[i]
			a := groups[c.group]
			if a == nil {
				if a, err = newAgg(d, pr, nz); err != nil {
					return nil, st, err
				}
				groups[c.group] = a
			}
			if err := a.add(d, c, &st); err != nil {
				return nil, st, err
			}
		}
	}
	st.GroupsSeen = int64(len(groups))
	res := &Result{Indicator: d.Name, Measure: d.Measure, Column: d.Column, GroupBy: slices.Clone(d.GroupBy),
		Filter: d.Filter, Hash: d.Hash(), Computed: time.Now().UTC(), Params: pr, Values: []Value{}}
	keysSorted := make([]string, 0, len(groups))
	for k := range groups {
		keysSorted = append(keysSorted, k)
	}
	slices.Sort(keysSorted)
	for _, k := range keysSorted {
		a := groups[k]
		if a.persons < d.MinPersons {
			st.GroupsThreshold++
		}
		if a.cnt != nil {
			n, err := a.cnt.PreThresholdedResult(d.MinPersons, pr.SelectionDelta)
			if err != nil {
				return nil, st, fmt.Errorf("indicators: count: %w", err)
			}
			if n == nil {
				continue
			}
			st.GroupsReleased++
			ci, err := a.cnt.ComputeConfidenceInterval(Alpha)
			if err != nil {
				return nil, st, fmt.Errorf("indicators: count: %w", err)
			}
			labels := strings.Split(k, sep)
			if len(p.groups) == 0 {
				labels = []string{}
			}
			res.Values = append(res.Values, Value{Group: labels, Value: float64(*n), Lower: ptr(ci.LowerBound), Upper: ptr(ci.UpperBound)})
			continue
		}
		sel, err := dpagg.NewPreAggSelectPartition(&dpagg.PreAggSelectPartitionOptions{
			Epsilon: pr.SelectionEpsilon, Delta: pr.SelectionDelta, PreThreshold: d.MinPersons,
			MaxPartitionsContributed: d.MaxGroupsPerPerson})
		if err != nil {
			return nil, st, fmt.Errorf("indicators: group selection: %w", err)
		}
		sel.IncrementBy(a.persons)
		keep, err := sel.ShouldKeepPartition()
		if err != nil {
			return nil, st, fmt.Errorf("indicators: group selection: %w", err)
		}
		if !keep {
			continue
		}
		st.GroupsReleased++
		labels := strings.Split(k, sep)
		if k == "" && len(p.groups) == 0 && d.Measure != Histogram {
			labels = nil
		}
		vs, err := a.result(d, labels)
		if err != nil {
			return nil, st, err
		}
		res.Values = append(res.Values, vs...)
	}
	res.G29 = g29(d, pr)
	return res, st, nil
}

func bucket(b []float64, v float64) string {
	if v < b[0] || v >= b[len(b)-1] {
		return ""
	}
	i, found := slices.BinarySearch(b, v)
	if !found {
		i--
	}
	return "[" + fmtNum(b[i]) + "," + fmtNum(b[i+1]) + ")"
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// params splits the run's budget: half of epsilon (and of delta with
// Gaussian noise) selects the groups, the rest noises the measure.
func params(d Definition) NoiseParams {
	pr := NoiseParams{Noise: d.Noise, Epsilon: d.Epsilon, Delta: d.Delta,
		SelectionEpsilon: d.Epsilon / 2, MeasureEpsilon: d.Epsilon / 2, SelectionDelta: d.Delta,
		MaxGroupsPerPerson: d.MaxGroupsPerPerson, MaxRowsPerGroup: d.MaxRowsPerGroup,
		Lower: d.Lower, Upper: d.Upper, MinPersons: d.MinPersons, ConfidenceLevel: 1 - Alpha}
	if d.Noise == Gaussian {
		pr.SelectionDelta, pr.MeasureDelta = d.Delta/2, d.Delta/2
	}
	if d.Measure == Count || d.Measure == Histogram {
		pr.Lower, pr.Upper = 0, float64(d.MaxRowsPerGroup)
	}
	if combined(d) {
		// A count of persons selects its groups with its own noisy value
		// (the library's pre-thresholded count): the whole epsilon noises
		// the count, and delta is the chance that a group too small for the
		// threshold shows.
		pr.SelectionEpsilon, pr.MeasureEpsilon = d.Epsilon, d.Epsilon
		pr.SelectionDelta, pr.MeasureDelta = d.Delta, 0
		if d.Noise == Gaussian {
			pr.SelectionDelta, pr.MeasureDelta = d.Delta/2, d.Delta/2
		}
	}
	return pr
}

// combined reports whether the run counts persons (one row each), so that
// group selection and the value share one noisy count.
func combined(d Definition) bool { return d.Measure == Count && d.MaxRowsPerGroup == 1 }

// agg is one group's aggregation.
type agg struct {
	persons int64
	cnt     *dpagg.Count // combined: selection and value
	count   *dpagg.BoundedSumInt64
	sum     *dpagg.BoundedSumFloat64
	mean    *dpagg.BoundedMean
	q       *dpagg.BoundedQuantiles
}

func newAgg(d Definition, pr NoiseParams, nz noise.Noise) (*agg, error) {
	a := &agg{}
	var err error
	eps, del, l0, c := pr.MeasureEpsilon, pr.MeasureDelta, d.MaxGroupsPerPerson, d.MaxRowsPerGroup
	switch {
	case combined(d):
		a.cnt, err = dpagg.NewCount(&dpagg.CountOptions{Epsilon: eps, Delta: del, MaxPartitionsContributed: l0, Noise: nz})
	case d.Measure == Count || d.Measure == Histogram:
		// A person's rows in a group, at most c: a bounded sum in [0, c].
		a.count, err = dpagg.NewBoundedSumInt64(&dpagg.BoundedSumInt64Options{Epsilon: eps, Delta: del,
			MaxPartitionsContributed: l0, Lower: 0, Upper: c, Noise: nz})
	case d.Measure == Sum:
		// A person's sum in a group: at most c values clamped to [lower, upper].
		a.sum, err = dpagg.NewBoundedSumFloat64(&dpagg.BoundedSumFloat64Options{Epsilon: eps, Delta: del,
			MaxPartitionsContributed: l0, Lower: math.Min(0, float64(c)*d.Lower), Upper: math.Max(0, float64(c)*d.Upper), Noise: nz})
	case d.Measure == Mean:
		a.mean, err = dpagg.NewBoundedMean(&dpagg.BoundedMeanOptions{Epsilon: eps, Delta: del,
			MaxPartitionsContributed: l0, MaxContributionsPerPartition: c, Lower: d.Lower, Upper: d.Upper, Noise: nz})
	case d.Measure == Quantiles:
		a.q, err = dpagg.NewBoundedQuantiles(&dpagg.BoundedQuantilesOptions{Epsilon: eps, Delta: del,
			MaxPartitionsContributed: l0, MaxContributionsPerPartition: c, Lower: d.Lower, Upper: d.Upper, Noise: nz})
	}
	if err != nil {
		return nil, fmt.Errorf("indicators: %s: %w", d.Measure, err)
	}
	return a, nil
}

func (a *agg) add(d Definition, c *cell, st *Stats) error {
	a.persons++
	k := min(c.n, d.MaxRowsPerGroup)
	st.Dropped += c.n - k
	if a.cnt != nil {
		return a.cnt.Increment()
	}
	switch d.Measure {
	case Count, Histogram:
		return a.count.Add(k)
	case Sum:
		s := 0.0
		for _, v := range c.vals {
			s += math.Max(d.Lower, math.Min(d.Upper, v))
		}
		return a.sum.Add(s)
	case Mean:
		for _, v := range c.vals {
			if err := a.mean.Add(v); err != nil {
				return err
			}
		}
	case Quantiles:
		for _, v := range c.vals {
			if err := a.q.Add(v); err != nil {
				return err
			}
		}
	}
	return nil
}

func ptr(f float64) *float64 { return &f }

func (a *agg) result(d Definition, labels []string) ([]Value, error) {
	v := Value{Group: labels}
	if d.Measure == Histogram && len(labels) > 0 {
		v.Group, v.Bucket = labels[:len(labels)-1], labels[len(labels)-1]
	}
	if v.Group == nil {
		v.Group = []string{}
	}
	var ci noise.ConfidenceInterval
	var err error
	switch d.Measure {
	case Count, Histogram:
		var n int64
		if n, err = a.count.Result(); err == nil {
			v.Value = float64(max(n, 0))
			ci, err = a.count.ComputeConfidenceInterval(Alpha)
			ci.LowerBound = math.Max(0, ci.LowerBound)
		}
	case Sum:
		if v.Value, err = a.sum.Result(); err == nil {
			ci, err = a.sum.ComputeConfidenceInterval(Alpha)
		}
	case Mean:
		if v.Value, err = a.mean.Result(); err == nil {
			ci, err = a.mean.ComputeConfidenceInterval(Alpha)
		}
	case Quantiles:
		var out []Value
		for _, r := range d.Ranks {
			q, err := a.q.Result(r)
			if err != nil {
				return nil, fmt.Errorf("indicators: quantile: %w", err)
			}
			out = append(out, Value{Group: v.Group, Rank: r, Value: q})
		}
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("indicators: %s: %w", d.Measure, err)
	}
	v.Lower, v.Upper = ptr(ci.LowerBound), ptr(ci.UpperBound)
	return []Value{v}, nil
}

func g29(d Definition, pr NoiseParams) G29 {
	return G29{
		SinglingOut: fmt.Sprintf("no group of fewer than %d persons is released (small-cell threshold), and groups are selected with "+
			"differential privacy (epsilon %g, delta %g): a group that exists because of one person does not appear; each person "+
			"counts in at most %d group(s) with at most %d row(s) each, whatever the number of their visits",
			d.MinPersons, pr.SelectionEpsilon, pr.SelectionDelta, d.MaxGroupsPerPerson, d.MaxRowsPerGroup),
		Linkability: "the release holds group labels and noisy aggregates only: no pseudonym, row, date finer than the grouping, " +
			"or stable identifier; noise is drawn afresh at each run from a secure source, so two releases share no key to join on",
		Inference: fmt.Sprintf("every value is noised (%s, epsilon %g, delta %g) for the per-person bounds above: whether any one "+
			"person is in the data changes the probability of any output by a factor of at most e^%g (plus %g), and the consumer's "+
			"repeated runs are limited by the privacy budget of the period",
			d.Noise, pr.MeasureEpsilon, pr.MeasureDelta, d.Epsilon, d.Delta),
	}
}
