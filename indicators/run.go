package indicators

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// run is one computation's state while the rows stream in: the persons
// (by a keyed 64-bit hash of their pseudonym: two pseudonyms whose hashes
// collide would count as one person, whose contributions the bounds then
// limit together), each person's cells (person, group) and the groups.
type run struct {
	ctx  context.Context
	p    *Plan
	d    Definition
	st   *Stats
	rng  *mrand.Rand
	seed maphash.Seed
	// persons: pseudonym hash -> person index; the last person looked up
	// (rows of one person often follow each other).
	persons        *personIndex
	lastPH         uint64
	lastHead       *int32        // the last person's head
	heads          chunks[int32] // person -> their latest cell (a list through cell.next)
	firsts         chunks[int64] // person -> the row (1, 2, ... in scan order) where they first appear
	cells          chunks[cell]
	arena          []float64 // reservoirs, MaxRowsPerGroup per cell
	groupIDs       map[string]int32
	groupKeys      []string
	needValue      bool
	cols           []string
	valueAt        int
	groupAt        []int
	filterCols     []string
	filterAt       []int
	filterRow      map[string]string
	filterCache    map[string]bool
	filterKey      []byte
	keyBuf         []byte
	packedGroupIDs wordCache  // records: packed label ids -> group
	labels         []labelSet // records: per group column (then the histogram bucket)
	rows           []int32    // records: the batch's rows that count in this shard
	phs            []uint64   // records: their persons' hashes
	hs             []uint64   // records: the batch's person hashes, when computed here
	shard, shards  int        // records: this run counts the persons of shard of shards (shards < 2: all)
	touched        uint64     // records: keeps the index's prefetching loads
}

// newRun starts a run whose persons are told apart by their pseudonym's
// hash keyed with seed (the same for all the shards of a computation).
func newRun(ctx context.Context, p *Plan, st *Stats, rng *mrand.Rand, seed maphash.Seed) *run {
	r := &run{ctx: ctx, p: p, d: p.Def, st: st, rng: rng, seed: seed, persons: newPersonIndex(),
		groupIDs: map[string]int32{}, needValue: p.Def.Measure != Count, cols: p.Columns(), valueAt: -1,
		filterRow: map[string]string{}, filterCache: map[string]bool{}}
	at := map[string]int{}
	for i, c := range r.cols {
		at[c] = i
	}
	if r.needValue {
		r.valueAt = at[r.d.Column]
	}
	for _, g := range p.groups {
		r.groupAt = append(r.groupAt, at[g.col])
	}
	// A criterion is a pure function of the filter columns' values, which
	// repeat (modality, department, diagnosis): its verdicts are cached per
	// combination of values, up to maxFilterCache combinations.
	if p.filter != nil {
		r.filterCols = p.filter.Columns()
		for _, c := range r.filterCols {
			r.filterAt = append(r.filterAt, at[c])
		}
	}
	return r
}

// tick counts a row read and checks the context now and then.
func (r *run) tick() error {
	r.st.Rows++
	if r.st.Rows&0xffff == 0 {
		return r.ctx.Err()
	}
	return nil
}

// pass reports whether the filter keeps a row whose value of column j
// (an index into r.cols) is val(j).
func (r *run) pass(val func(j int) string) bool {
	if r.p.filter == nil {
		return true
	}
	r.filterKey = r.filterKey[:0]
	for _, j := range r.filterAt {
		v := val(j)
		r.filterKey = binary.AppendUvarint(r.filterKey, uint64(len(v)))
		r.filterKey = append(r.filterKey, v...)
	}
	ok, cached := r.filterCache[string(r.filterKey)]
	if !cached {
		for i, c := range r.filterCols {
			r.filterRow[c] = val(r.filterAt[i])
		}
		ok = r.p.filter.Match(r.filterRow)
		if len(r.filterCache) < maxFilterCache {
			r.filterCache[string(r.filterKey)] = ok
		}
	}
	return ok
}

// parseValue is a measure's value from its string form (false: none,
// the row does not count for the measure).
func parseValue(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// groupID returns the group of key (its labels joined by sep).
func (r *run) groupID(key []byte) int32 {
	gid, ok := r.groupIDs[string(key)]
	if !ok {
		gid = int32(len(r.groupKeys))
		r.groupKeys = append(r.groupKeys, string(key))
		r.groupIDs[r.groupKeys[gid]] = gid
	}
	return gid
}

// count adds a matched row of person ph to group gid, with the measure's
// value v.
func (r *run) count(ph uint64, gid int32, v float64) error {
	r.st.Matched++
	head := r.lastHead
	if ph != r.lastPH || head == nil {
		pi, err := r.persons.get(ph, r.newPerson)
		if err != nil {
			return err
		}
		head = r.heads.at(pi)
		r.lastPH, r.lastHead = ph, head
	}
	ci := *head
	for ci >= 0 && r.cells.at(ci).group != gid {
		ci = r.cells.at(ci).next
	}
	C := r.d.MaxRowsPerGroup
	if ci < 0 {
		if r.cells.len() >= math.MaxInt32 {
			return errTooMany
		}
		ci = r.cells.add(cell{group: gid, next: *head})
		*head = ci
		if r.needValue {
			r.arena = slices.Grow(r.arena, int(C))[:len(r.arena)+int(C)]
		}
	}
	c := r.cells.at(ci)
	c.n++
	if r.needValue {
		// Reservoir sampling: each of the person's rows in the group
		// has the same chance to be among the MaxRowsPerGroup kept.
		base := int64(ci) * C
		if c.n <= C {
			r.arena[base+c.n-1] = v
		} else if j := r.rng.Int64N(c.n); j < C {
			r.arena[base+j] = v
		}
	}
	return nil
}

// newPerson gives the next person an index.
func (r *run) newPerson() (int32, error) {
	if r.heads.len() >= math.MaxInt32 {
		return 0, errTooMany
	}
	r.firsts.add(r.st.Rows)
	return r.heads.add(-1), nil
}

// row counts one row of the string view ([Rows.Scan]).
func (r *run) row(pseudonym string, vals []string) error {
	if err := r.tick(); err != nil {
		return err
	}
	if pseudonym == "" || !r.pass(func(j int) string { return vals[j] }) {
		return nil
	}
	var v float64
	if r.needValue {
		var ok bool
		if v, ok = parseValue(vals[r.valueAt]); !ok {
			return nil
		}
	}
	r.keyBuf = r.keyBuf[:0]
	for i, g := range r.p.groups {
		if i > 0 {
			r.keyBuf = append(r.keyBuf, sep...)
		}
		r.keyBuf = append(r.keyBuf, g.label(vals[r.groupAt[i]])...)
	}
	if r.d.Measure == Histogram {
		b := bucket(r.d.Buckets, v)
		if b == "" {
			return nil
		}
		if len(r.p.groups) > 0 {
			r.keyBuf = append(r.keyBuf, sep...)
		}
		r.keyBuf = append(r.keyBuf, b...)
	}
	return r.count(maphash.String(r.seed, pseudonym), r.groupID(r.keyBuf), v)
}
