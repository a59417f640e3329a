package indicators

import (
	mrand "math/rand/v2"
	"slices"

	"github.com/google/differential-privacy/go/v3/noise"
)

// shardCells walks one shard's persons in order, each person's cells in
// the order they were made.
type shardCells struct {
	r    *run
	aggs []*agg  // by the shard's group id
	mine []int32 // the current person's cells
	next int     // the next person to add
}

// first is the row where the next person first appears (false: none left).
func (s *shardCells) first() (int64, bool) {
	if s.next >= s.r.firsts.len() {
		return 0, false
	}
	return *s.r.firsts.at(int32(s.next)), true
}

// bound adds every person of the runs (the shards) to the aggregations of
// their groups (by group key), within the per-person bounds: at most
// MaxGroupsPerPerson groups, a uniform sample drawn from rng, and each
// group's cell at most MaxRowsPerGroup rows (counted or sampled as the
// rows streamed in). Persons are taken in the order they first appear in
// the scan, whatever their shard, so that rng's draws go to the same
// persons however the rows were read.
func bound(runs []*run, pr NoiseParams, nz noise.Noise, rng *mrand.Rand, st *Stats) (map[string]*agg, error) {
	groups := map[string]*agg{}
	shards := make([]*shardCells, len(runs))
	for k, r := range runs {
		shards[k] = &shardCells{r: r, aggs: make([]*agg, len(r.groupKeys))}
	}
	for {
		var s *shardCells
		var sFirst int64
		for _, c := range shards {
			if f, ok := c.first(); ok && (s == nil || f < sFirst) {
				s, sFirst = c, f
			}
		}
		if s == nil {
			return groups, nil
		}
		if err := s.add(s.next, groups, &pr, nz, rng, st); err != nil {
			return nil, err
		}
		s.next++
	}
}

// add adds person pi's cells to their groups' aggregations.
func (s *shardCells) add(pi int, groups map[string]*agg, pr *NoiseParams, nz noise.Noise, rng *mrand.Rand, st *Stats) error {
	r, d := s.r, &s.r.d
	cells, C := &r.cells, d.MaxRowsPerGroup
	// The person's list runs from their latest cell back: reversed, the
	// cells in the order they were made.
	mine := s.mine[:0]
	for ci := *r.heads.at(int32(pi)); ci >= 0; ci = cells.at(ci).next {
		mine = append(mine, ci)
	}
	slices.Reverse(mine)
	s.mine = mine
	if int64(len(mine)) > d.MaxGroupsPerPerson {
		// Bound the groups a person counts in: a uniform sample.
		rng.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
		for _, ci := range mine[d.MaxGroupsPerPerson:] {
			st.Dropped += cells.at(ci).n
		}
		mine = mine[:d.MaxGroupsPerPerson]
	}
	for _, ci := range mine {
		c := cells.at(ci)
		var vals []float64
		if r.needValue {
			base := int64(ci) * C
			vals = r.arena[base : base+min(c.n, C)]
		}
		a := s.aggs[c.group]
		if a == nil {
			if a = groups[r.groupKeys[c.group]]; a == nil {
				var err error
				if a, err = newAgg(*d, *pr, nz); err != nil {
					return err
				}
				groups[r.groupKeys[c.group]] = a
			}
			s.aggs[c.group] = a
		}
		if err := a.add(d, c, vals, st); err != nil {
			return err
		}
	}
	return nil
}
