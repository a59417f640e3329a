package indicators

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/google/differential-privacy/go/v3/dpagg"
	"github.com/google/differential-privacy/go/v3/noise"
)

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

func (a *agg) add(d *Definition, c *cell, vals []float64, st *Stats) error {
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
		for _, v := range vals {
			s += math.Max(d.Lower, math.Min(d.Upper, v))
		}
		return a.sum.Add(s)
	case Mean:
		for _, v := range vals {
			if err := a.mean.Add(v); err != nil {
				return err
			}
		}
	case Quantiles:
		for _, v := range vals {
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
