package indicators

import (
	"context"
	"fmt"
	"hash/maphash"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/google/differential-privacy/go/v3/dpagg"
	"github.com/google/differential-privacy/go/v3/noise"
)

// Rows is what [Compute] reads: every row of a table with its person's
// pseudonym (the privacy unit) and the values of the columns cols, in that
// order ("" for an empty or absent cell), so that a columnar source reads
// only those columns. fn must not keep vals after it returns; an error from
// fn stops the scan and is returned.
type Rows interface {
	Scan(ctx context.Context, cols []string, fn func(person string, vals []string) error) error
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

// maxShards bounds the goroutines that aggregate a run's typed batches.
const maxShards = 4

// cell is one person's contribution to one group (an index into the
// run's group keys; the person's cells are a list from their head): how
// many rows; a uniform sample of at most MaxRowsPerGroup of their values
// (reservoir) lives in the run's value arena at [i*MaxRowsPerGroup,
// i*MaxRowsPerGroup+min(n, MaxRowsPerGroup)). Cells hold no pointer, so
// that millions of them cost the collector nothing.
type cell struct {
	group int32
	next  int32 // the person's previous cell, -1 at the end
	n     int64
}

// Compute runs the plan over rows. The noise comes from the library's
// secure random source; rng only samples which rows and groups of a person
// over the bounds count (nil: a fresh random source). A [RecordRows] is
// read as typed record batches, any other [Rows] as strings.
func Compute(ctx context.Context, p *Plan, rows Rows, rng *mrand.Rand) (*Result, Stats, error) {
	var st Stats
	d := p.Def
	if rng == nil {
		rng = mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	}
	// The reservoirs' random sources, one per shard (as many drawn
	// whatever the shards, so that rng then samples the same groups of
	// the same persons whichever way the rows were read).
	var rngs [maxShards]*mrand.Rand
	for k := range rngs {
		rngs[k] = mrand.New(mrand.NewPCG(rng.Uint64(), rng.Uint64()))
	}
	var runs []*run
	var err error
	seed := maphash.MakeSeed()
	if rr, ok := rows.(RecordRows); ok {
		// The persons split in shards, each aggregated on its own
		// goroutine: a person's rows all fall in one shard.
		n := min(max(runtime.GOMAXPROCS(0), 1), maxShards)
		procs := make([]func(arrow.Record) error, n)
		for k := range n {
			r := newRun(ctx, p, &Stats{}, rngs[k], seed)
			r.shard, r.shards = k, n
			ids := make([][]int32, len(p.groups))
			procs[k] = func(rec arrow.Record) error { return r.record(rec, ids) }
			runs = append(runs, r)
		}
		err = pipelinedRecords(ctx, rr, runs[0].cols, seed, procs...)
	} else {
		r := newRun(ctx, p, &Stats{}, rngs[0], seed)
		runs = append(runs, r)
		err = pipelined(ctx, rows, r.cols, r.row)
	}
	// Every shard reads every row; the rest is the sum of the shards'.
	st.Rows = runs[0].st.Rows
	for _, r := range runs {
		st.Matched += r.st.Matched
		st.Persons += int64(r.persons.len())
	}
	if err != nil {
		return nil, st, err
	}

	pr := params(d)
	nz := noise.Laplace()
	if d.Noise == Gaussian {
		nz = noise.Gaussian()
	}
	groups, err := bound(runs, pr, nz, rng, &st)
	if err != nil {
		return nil, st, err
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
