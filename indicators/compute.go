package indicators

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

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

// cell is one person's contribution to one group (indexes into the run's
// persons and group keys): how many rows; a uniform sample of at most
// MaxRowsPerGroup of their values (reservoir) lives in the run's value
// arena at [i*MaxRowsPerGroup, i*MaxRowsPerGroup+min(n, MaxRowsPerGroup)).
// Cells hold no pointer, so that millions of them cost the collector nothing.
type cell struct {
	person, group int32
	next          int32 // the person's previous cell, -1 at the end
	n             int64
}

const sep = "\x1f"

// batchRows is the rows of one batch handed from the reader to the
// aggregator.
const batchRows = 4096

// rowBatch holds rows copied out of a source's callback: every field's
// bytes in one arena, with their end offsets (person, then the columns).
type rowBatch struct {
	arena []byte
	ends  []int
}

// pipelined runs rows.Scan on the calling goroutine and process on
// another, so that reading and decoding a table overlaps with the
// aggregation (two cores). process sees the rows in scan order; the
// strings it gets alias the batch and are valid during the call only.
func pipelined(ctx context.Context, rows Rows, cols []string, process func(string, []string) error) error {
	work := make(chan *rowBatch, 2)
	free := make(chan *rowBatch, 3)
	for range 3 {
		free <- &rowBatch{}
	}
	done := make(chan error, 1)
	stop := make(chan struct{})
	fields := 1 + len(cols)
	go func() {
		vals := make([]string, len(cols))
		var err error
		for b := range work {
			if err == nil {
				start := 0
				str := func(end int) string {
					s := ""
					if end > start {
						s = unsafe.String(&b.arena[start], end-start)
					}
					start = end
					return s
				}
				for r := 0; r+fields <= len(b.ends) && err == nil; r += fields {
					person := str(b.ends[r])
					for j := range vals {
						vals[j] = str(b.ends[r+1+j])
					}
					err = process(person, vals)
				}
				if err != nil {
					close(stop)
				}
			}
			b.arena, b.ends = b.arena[:0], b.ends[:0]
			free <- b
		}
		done <- err
	}()
	var cur *rowBatch
	send := func() bool {
		select {
		case work <- cur:
			cur = nil
			return true
		case <-stop:
			return false
		}
	}
	scanErr := rows.Scan(ctx, cols, func(person string, vals []string) error {
		if cur == nil {
			select {
			case cur = <-free:
			case <-stop:
				return errStopped
			}
		}
		cur.arena = append(cur.arena, person...)
		cur.ends = append(cur.ends, len(cur.arena))
		for _, v := range vals {
			cur.arena = append(cur.arena, v...)
			cur.ends = append(cur.ends, len(cur.arena))
		}
		if len(cur.ends) >= batchRows*fields && !send() {
			return errStopped
		}
		return nil
	})
	if scanErr == nil && cur != nil && len(cur.ends) > 0 {
		send()
	}
	close(work)
	err := <-done
	if err != nil {
		return err
	}
	if errors.Is(scanErr, errStopped) {
		return nil
	}
	return scanErr
}

var errStopped = errors.New("indicators: aggregation stopped")

var errTooMany = errors.New("indicators: over 2^31 persons or person-group cells: narrow the filter")

// maxFilterCache bounds the filter's verdict cache (combinations of values).
const maxFilterCache = 1 << 16

// Compute runs the plan over rows. The noise comes from the library's
// secure random source; rng only samples which rows and groups of a person
// over the bounds count (nil: a fresh random source).
func Compute(ctx context.Context, p *Plan, rows Rows, rng *mrand.Rand) (*Result, Stats, error) {
	var st Stats
	d := p.Def
	if rng == nil {
		rng = mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	}
	persons := map[string]int32{} // pseudonym -> person index
	var cells []cell
	var arena []float64 // reservoirs, MaxRowsPerGroup per cell
	head := []int32{}   // person -> their latest cell (a list through cell.next)
	C := d.MaxRowsPerGroup
	groupIDs := map[string]int32{} // group key -> index in groupKeys
	var groupKeys []string
	keyBuf := make([]byte, 0, 64)
	needValue := d.Measure != Count
	cols := p.Columns()
	at := map[string]int{}
	for i, c := range cols {
		at[c] = i
	}
	valueAt := -1
	if needValue {
		valueAt = at[d.Column]
	}
	groupAt := make([]int, len(p.groups))
	for i, g := range p.groups {
		groupAt[i] = at[g.col]
	}
	var filterCols []string
	var filterAt []int
	filterRow := map[string]string{}
	// A criterion is a pure function of the filter columns' values, which
	// repeat (modality, department, diagnosis): its verdicts are cached per
	// combination of values, up to maxFilterCache combinations.
	filterCache := map[string]bool{}
	filterKey := make([]byte, 0, 64)
	if p.filter != nil {
		filterCols = p.filter.Columns()
		for _, c := range filterCols {
			filterAt = append(filterAt, at[c])
		}
	}
	process := func(pseudonym string, vals []string) error {
		st.Rows++
		if st.Rows&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if pseudonym == "" {
			return nil
		}
		if p.filter != nil {
			filterKey = filterKey[:0]
			for _, j := range filterAt {
				filterKey = binary.AppendUvarint(filterKey, uint64(len(vals[j])))
				filterKey = append(filterKey, vals[j]...)
			}
			ok, cached := filterCache[string(filterKey)]
			if !cached {
				for i, c := range filterCols {
					filterRow[c] = vals[filterAt[i]]
				}
				ok = p.filter.Match(filterRow)
				if len(filterCache) < maxFilterCache {
					filterCache[string(filterKey)] = ok
				}
			}
			if !ok {
				return nil
			}
		}
		var v float64
		if needValue {
			f, err := strconv.ParseFloat(strings.TrimSpace(vals[valueAt]), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil // no value: the row does not count for this measure
			}
			v = f
		}
		keyBuf = keyBuf[:0]
		for i, g := range p.groups {
			if i > 0 {
				keyBuf = append(keyBuf, sep...)
			}
			keyBuf = append(keyBuf, g.label(vals[groupAt[i]])...)
		}
		if d.Measure == Histogram {
			b := bucket(d.Buckets, v)
			if b == "" {
				return nil
			}
			if len(p.groups) > 0 {
				keyBuf = append(keyBuf, sep...)
			}
			keyBuf = append(keyBuf, b...)
		}
		st.Matched++
		gid, ok := groupIDs[string(keyBuf)]
		if !ok {
			gid = int32(len(groupKeys))
			groupKeys = append(groupKeys, string(keyBuf))
			groupIDs[groupKeys[gid]] = gid
		}
		pi, ok := persons[pseudonym]
		if !ok {
			if len(persons) >= math.MaxInt32 || len(cells) >= math.MaxInt32 {
				return errTooMany
			}
			pi = int32(len(persons))
			persons[strings.Clone(pseudonym)] = pi
			head = append(head, -1)
		}
		ci := head[pi]
		for ci >= 0 && cells[ci].group != gid {
			ci = cells[ci].next
		}
		if ci < 0 {
			ci = int32(len(cells))
			cells = append(cells, cell{person: pi, group: gid, next: head[pi]})
			head[pi] = ci
			if needValue {
				arena = slices.Grow(arena, int(C))[:len(arena)+int(C)]
			}
		}
		c := &cells[ci]
		c.n++
		if needValue {
			// Reservoir sampling: each of the person's rows in the group
			// has the same chance to be among the MaxRowsPerGroup kept.
			base := int64(ci) * C
			if c.n <= C {
				arena[base+c.n-1] = v
			} else if j := rng.Int64N(c.n); j < C {
				arena[base+j] = v
			}
		}
		return nil
	}
	if err := pipelined(ctx, rows, cols, process); err != nil {
		return nil, st, err
	}
	st.Persons = int64(len(persons))

	pr := params(d)
	nz := noise.Laplace()
	if d.Noise == Gaussian {
		nz = noise.Gaussian()
	}
	groups := map[string]*agg{}
	nPersons := len(persons)
	persons, head = nil, nil
	// The cells of each person, together (a counting sort by person).
	start := make([]int32, nPersons+1)
	for i := range cells {
		start[cells[i].person+1]++
	}
	for i := 1; i <= nPersons; i++ {
		start[i] += start[i-1]
	}
	order := make([]int32, len(cells))
	next := slices.Clone(start[:nPersons])
	for i := range cells {
		pi := cells[i].person
		order[next[pi]] = int32(i)
		next[pi]++
	}
	next = nil
	for pi := range nPersons {
		mine := order[start[pi]:start[pi+1]]
		if int64(len(mine)) > d.MaxGroupsPerPerson {
			// Bound the groups a person counts in: a uniform sample.
			rng.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			for _, ci := range mine[d.MaxGroupsPerPerson:] {
				st.Dropped += cells[ci].n
			}
			mine = mine[:d.MaxGroupsPerPerson]
		}
		for _, ci := range mine {
			c := &cells[ci]
			var vals []float64
			if needValue {
				base := int64(ci) * C
				vals = arena[base : base+min(c.n, C)]
			}
			a := groups[groupKeys[c.group]]
			if a == nil {
				var err error
				if a, err = newAgg(d, pr, nz); err != nil {
					return nil, st, err
				}
				groups[groupKeys[c.group]] = a
			}
			if err := a.add(d, c, vals, &st); err != nil {
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

func (a *agg) add(d Definition, c *cell, vals []float64, st *Stats) error {
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
