package tables

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"os"
	"slices"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// KeySpec is one quasi-identifier of a [Counter], generalized as the
// export gate asks.
type KeySpec struct {
	Column string
	// Int generalizes an integer or date (days) column (an age band,
	// a month); nil keeps the value.
	Int func(int64) int64
	// Prefix keeps the first Prefix bytes of a string (a department to a
	// region); 0 keeps the value.
	Prefix int
	// String generalizes a value given as a string (after Prefix): a
	// string or dictionary value (once per dictionary entry), or a number
	// or date in its string form ([FormatValue]) when Int is nil. The
	// export gate's rules (export.Rule.Apply) come in here.
	String func(string) string
}

// CounterOptions configures a [Counter].
type CounterOptions struct {
	Keys []KeySpec
	// Person: distinct persons are counted per class (k counts persons);
	// "" makes every row a person of its own.
	Person    string
	Sensitive []string // distinct values counted per class (l-diversity)
	// Detail also gives, per class, its rows ([Class.Rows]) and each
	// sensitive column's values weighted by person ([Class.Weights]), and
	// the table's distinct persons ([Summary.Persons]): what the export
	// gate's suppression, l-diversity and t-closeness need. It adds a row
	// stream (one pair per row, spilled past the budget like the others).
	Detail bool
	// Budget bounds the memory of the counts, in bytes (default 256 MiB);
	// beyond it sorted runs spill to TempDir (default os.TempDir()).
	Budget  int64
	TempDir string
}

// Class is one equivalence class: its id (a keyed hash of its generalized
// quasi-identifier values, see [Counter.ClassOf]), its distinct persons
// and, per sensitive column, its distinct values.
type Class struct {
	ID       uint64
	Persons  int64
	Distinct []int64
	// With [CounterOptions.Detail]: the class's rows, and per sensitive
	// column its values (ids given in the order first seen in the table)
	// with their weight in persons: a person holding n distinct values of
	// the column in the class weighs 1/n on each. Weights are valid only
	// during the callback.
	Rows    int64
	Weights []map[uint32]float64
}

// Counter counts, per class of quasi-identifier values, the distinct
// persons and the distinct values of sensitive columns: the k-anonymity
// and l-diversity counts of the export gate (issue 17), out of core. Rows
// arrive as Arrow record batches ([Records]); keys are hashed column by
// column over the arrays; (class, person) and (class, value) pairs are
// kept in memory up to the budget, sorted and deduplicated, then spilled
// as sorted runs and merged. Distinct values are counted by 64-bit keyed
// hashes: a collision can only merge two persons or values of one class,
// which makes the count smaller, never larger (the check stricter).
type Counter struct {
	opt     CounterOptions
	seed    maphash.Seed
	streams []*pairStream // persons, then one per sensitive column
	hashes  []uint64
	vals    []uint64
	persons []uint64
	rows    int64
	// Detail: the rows of each class (one unique pair a row), the table's
	// persons (class 0), and the ids of each sensitive column's values.
	classRows, allPersons *pairStream
	ids                   []map[uint64]uint32
}

// NewCounter returns a counter; Close removes its spill files.
func NewCounter(opt CounterOptions) (*Counter, error) {
	if len(opt.Keys) == 0 {
		return nil, errors.New("tables: a counter needs quasi-identifiers")
	}
	if opt.Budget <= 0 {
		opt.Budget = 256 << 20
	}
	if opt.TempDir == "" {
		opt.TempDir = os.TempDir()
	}
	c := &Counter{opt: opt, seed: maphash.MakeSeed()}
	streams := 1 + len(opt.Sensitive)
	if opt.Detail {
		streams += 2 // class rows, the table's persons
	}
	per := int(opt.Budget / int64(16*streams))
	for range 1 + len(opt.Sensitive) {
		c.streams = append(c.streams, &pairStream{max: max(per, 1024), dir: opt.TempDir})
	}
	if opt.Detail {
		c.classRows = &pairStream{max: max(per, 1024), dir: opt.TempDir}
		c.allPersons = &pairStream{max: max(per, 1024), dir: opt.TempDir}
		for range opt.Sensitive {
			c.ids = append(c.ids, map[uint64]uint32{})
		}
	}
	return c, nil
}

// all returns every stream of the counter: persons, sensitive columns,
// then (Detail) class rows and the table's persons.
func (c *Counter) all() []*pairStream {
	if c.opt.Detail {
		return append(slices.Clone(c.streams), c.classRows, c.allPersons)
	}
	return c.streams
}

// Close removes the spill files.
func (c *Counter) Close() error {
	var errs []error
	for _, s := range c.all() {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// Rows returns the rows added.
func (c *Counter) Rows() int64 { return c.rows }

func mix(h, v uint64) uint64 {
	h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return h
}

const nullHash = 0x6e756c6c6e756c6c

// str generalizes a string value as spec says and hashes it.
func (c *Counter) str(s string, spec KeySpec) uint64 {
	if spec.Prefix > 0 && len(s) > spec.Prefix {
		s = s[:spec.Prefix]
	}
	if spec.String != nil {
		s = spec.String(s)
	}
	return maphash.String(c.seed, s)
}

// column hashes every value of a column into out (len rows); spec may
// generalize it. A null is a value of its own, except for a String
// generalization, which sees it as "" (as a row's string view does).
func (c *Counter) column(a arrow.Array, spec KeySpec, out []uint64) error {
	n := a.Len()
	null := uint64(nullHash)
	if spec.String != nil {
		null = c.str("", spec)
	}
	if spec.String != nil && spec.Int == nil {
		switch a.(type) {
		case *array.Int64, *array.Date32, *array.Float64:
			// A number or date generalized by its string form.
			for i := range n {
				if a.IsNull(i) {
					out[i] = null
				} else {
					out[i] = c.str(format(a, i), spec)
				}
			}
			return nil
		}
	}
	switch a := a.(type) {
	case *array.Int64:
		intHashes(a.Int64Values(), a, spec, null, out)
	case *array.Date32:
		intHashes(a.Date32Values(), a, spec, null, out)
	case *array.Float64:
		for i := range n {
			if a.IsNull(i) {
				out[i] = null
				continue
			}
			out[i] = mix(0, math.Float64bits(a.Value(i)))
		}
	case *array.String:
		for i := range n {
			if a.IsNull(i) {
				out[i] = null
				continue
			}
			out[i] = c.str(a.Value(i), spec)
		}
	case *array.Dictionary:
		dict, ok := a.Dictionary().(*array.String)
		if !ok {
			return fmt.Errorf("tables: column %s: dictionary of %s", spec.Column, a.Dictionary().DataType())
		}
		dh := make([]uint64, dict.Len())
		for j := range dh {
			dh[j] = c.str(dict.Value(j), spec)
		}
		for i := range n {
			if a.IsNull(i) {
				out[i] = null
			} else {
				out[i] = dh[a.GetValueIndex(i)]
			}
		}
	default:
		return fmt.Errorf("tables: column %s: type %s not countable", spec.Column, a.DataType())
	}
	return nil
}

// intHashes hashes the integers (or dates, in days) of a, generalized by
// spec.Int.
func intHashes[T ~int32 | ~int64](vals []T, a arrow.Array, spec KeySpec, null uint64, out []uint64) {
	for i, v := range vals {
		if a.IsNull(i) {
			out[i] = null
			continue
		}
		x := int64(v)
		if spec.Int != nil {
			x = spec.Int(x)
		}
		out[i] = mix(0, uint64(x))
	}
}

func field(rec arrow.Record, name string) (arrow.Array, error) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil, fmt.Errorf("tables: counter: column %s not in the table", name)
	}
	return rec.Column(idx[0]), nil
}

// ClassOf returns the class id of every row of rec (valid until the next
// call): the export gate's second pass finds the rows of small classes.
func (c *Counter) ClassOf(rec arrow.Record) ([]uint64, error) {
	n := int(rec.NumRows())
	c.hashes = slices.Grow(c.hashes[:0], n)[:n]
	c.vals = slices.Grow(c.vals[:0], n)[:n]
	clear(c.hashes)
	for _, k := range c.opt.Keys {
		a, err := field(rec, k.Column)
		if err != nil {
			return nil, err
		}
		if err := c.column(a, k, c.vals); err != nil {
			return nil, err
		}
		for i, v := range c.vals {
			c.hashes[i] = mix(c.hashes[i], v)
		}
	}
	return c.hashes, nil
}

// Add counts the rows of rec.
func (c *Counter) Add(rec arrow.Record) error {
	classes, err := c.ClassOf(rec)
	if err != nil {
		return err
	}
	n := len(classes)
	c.persons = slices.Grow(c.persons[:0], n)[:n]
	if c.opt.Person == "" {
		for i := range c.persons {
			c.persons[i] = mix(0, uint64(c.rows)+uint64(i))
		}
	} else if err := c.hashColumn(rec, c.opt.Person, c.persons); err != nil {
		return err
	}
	if err := c.streams[0].addAll(classes, c.persons); err != nil {
		return err
	}
	for si, name := range c.opt.Sensitive {
		if err := c.hashColumn(rec, name, c.vals); err != nil {
			return err
		}
		if c.opt.Detail {
			if err := c.weighted(si, c.vals); err != nil {
				return err
			}
		}
		if err := c.streams[1+si].addAll(classes, c.vals); err != nil {
			return err
		}
	}
	if c.opt.Detail {
		for i, cl := range classes {
			if err := c.classRows.add(pair{cl, uint64(c.rows) + uint64(i)}); err != nil {
				return err
			}
			if err := c.allPersons.add(pair{0, c.persons[i]}); err != nil {
				return err
			}
		}
	}
	c.rows += rec.NumRows()
	return nil
}

func (c *Counter) hashColumn(rec arrow.Record, name string, out []uint64) error {
	a, err := field(rec, name)
	if err != nil {
		return err
	}
	return c.column(a, KeySpec{Column: name}, out)
}

// valueBits are the low bits of a weighted pair that hold the value's id;
// the high bits hold the person's hash.
const valueBits = 24

// weighted turns the value hashes of sensitive column si into (person,
// value id) words, in place: sorted pairs then group a class's values by
// person. Two persons of one class whose hashes agree on the top 40 bits
// count as one, which splits their weight (l smaller, the check stricter).
func (c *Counter) weighted(si int, vals []uint64) error {
	ids := c.ids[si]
	for i, v := range vals {
		id, ok := ids[v]
		if !ok {
			if len(ids) >= 1<<valueBits {
				return fmt.Errorf("tables: counter: column %s has over %d distinct values: not a sensitive column to count l over", c.opt.Sensitive[si], 1<<valueBits)
			}
			id = uint32(len(ids))
			ids[v] = id
		}
		vals[i] = mix(0, c.persons[i])&^(1<<valueBits-1) | uint64(id)
	}
	return nil
}

// Summary is what the k check needs at a glance.
type Summary struct {
	Rows, Classes, Smallest, BelowK int64
	Persons                         int64 // with Detail: the table's distinct persons
	Spilled                         int64 // bytes written to spill files past the budget
}

// Result calls fn for every class (in id order) and returns the summary
// for k. It may be called again (the export gate's t-closeness makes a
// second pass once the table's distribution is known); no row may be
// added after the first call.
func (c *Counter) Result(k int64, fn func(Class) error) (Summary, error) {
	sum := Summary{Rows: c.rows}
	// The streams are sorted concurrently (parallel over the streams).
	streams := c.all()
	its := make([]*groupIter, len(streams))
	errs := make([]error, len(streams))
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			its[i], errs[i] = s.finish()
		}()
	}
	wg.Wait()
	for _, s := range streams {
		sum.Spilled += s.spilled
	}
	if err := errors.Join(errs...); err != nil {
		return sum, err
	}
	var rowIt *groupIter
	sens := its[1 : 1+len(c.opt.Sensitive)]
	var weights []map[uint32]float64
	if c.opt.Detail {
		rowIt = its[len(its)-2]
		_, persons, _, err := its[len(its)-1].next(nil)
		if err != nil {
			return sum, err
		}
		sum.Persons = persons
		for range sens {
			weights = append(weights, map[uint32]float64{})
		}
	}
	// Every class has rows in every stream: the streams advance together.
	step := func(it *groupIter, id uint64, w map[uint32]float64) (int64, error) {
		sid, d, ok, err := it.next(w)
		if err == nil && (!ok || sid != id) {
			err = errors.New("tables: counter streams out of step")
		}
		return d, err
	}
	for {
		id, persons, ok, err := its[0].next(nil)
		if err != nil {
			return sum, err
		}
		if !ok {
			break
		}
		cl := Class{ID: id, Persons: persons, Distinct: make([]int64, len(sens)), Weights: weights}
		for j, it := range sens {
			var w map[uint32]float64
			if weights != nil {
				w = weights[j]
				clear(w)
			}
			if cl.Distinct[j], err = step(it, id, w); err != nil {
				return sum, err
			}
		}
		if rowIt != nil {
			if cl.Rows, err = step(rowIt, id, nil); err != nil {
				return sum, err
			}
		}
		sum.Classes++
		if sum.Smallest == 0 || persons < sum.Smallest {
			sum.Smallest = persons
		}
		if persons < k {
			sum.BelowK++
		}
		if fn != nil {
			if err := fn(cl); err != nil {
				return sum, err
			}
		}
	}
	return sum, nil
}
