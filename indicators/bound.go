package indicators

import (
	mrand "math/rand/v2"
	"slices"

	"github.com/google/differential-privacy/go/v3/noise"
)

// shardCells is one shard's cells grouped by person (a counting sort),
// walked person after person.
type shardCells struct {
	r            *run
	start, order []int32
	aggs         []*agg // by the shard's group id
	next         int    // the next person to add
}

func sortCells(r *run) *shardCells {
	cells, nPersons := &r.cells, r.persons.len()
	start := make([]int32, nPersons+1)
	for i := range int32(cells.len()) {
		start[cells.at(i).person+1]++
	}
	for i := 1; i <= nPersons; i++ {
		start[i] += start[i-1]
	}
	order := make([]int32, cells.len())
	next := slices.Clone(start[:nPersons])
	for i := range int32(cells.len()) {
		pi := cells.at(i).person
		order[next[pi]] = i
		next[pi]++
	}
	return &shardCells{r: r, start: start, order: order, aggs: make([]*agg, len(r.groupKeys))}
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
		shards[k] = sortCells(r)
	}
	for {
		var s *shardCells
		for _, c := range shards {
			if c.next < len(c.r.first) && (s == nil || c.r.first[c.next] < s.r.first[s.next]) {
				s = c
			}
		}
		if s == nil {
			return groups, nil
		}
		if err := s.add(s.next, groups, pr, nz, rng, st); err != nil {
			return nil, err
		}
		s.next++
	}
}

// add adds person pi's cells to their groups' aggregations.
func (s *shardCells) add(pi int, groups map[string]*agg, pr NoiseParams, nz noise.Noise, rng *mrand.Rand, st *Stats) error {
	r, d := s.r, s.r.d
	cells, C := &r.cells, d.MaxRowsPerGroup
	mine := s.order[s.start[pi]:s.start[pi+1]]
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
				if a, err = newAgg(d, pr, nz); err != nil {
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
