package tables

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
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
}

// CounterOptions configures a [Counter].
type CounterOptions struct {
	Keys      []KeySpec
	Person    string   // distinct persons are counted per class (k counts persons)
	Sensitive []string // distinct values counted per class (l-diversity)
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
	rows    int64
}

// NewCounter returns a counter; Close removes its spill files.
func NewCounter(opt CounterOptions) (*Counter, error) {
	if len(opt.Keys) == 0 || opt.Person == "" {
		return nil, errors.New("tables: a counter needs quasi-identifiers and a person column")
	}
	if opt.Budget <= 0 {
		opt.Budget = 256 << 20
	}
	if opt.TempDir == "" {
		opt.TempDir = os.TempDir()
	}
	c := &Counter{opt: opt, seed: maphash.MakeSeed()}
	per := int(opt.Budget / int64(16*(1+len(opt.Sensitive))))
	for range 1 + len(opt.Sensitive) {
		c.streams = append(c.streams, &pairStream{max: max(per, 1024), dir: opt.TempDir})
	}
	return c, nil
}

// Close removes the spill files.
func (c *Counter) Close() error {
	var errs []error
	for _, s := range c.streams {
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

// column hashes every value of a column into out (len rows); spec may
// generalize it.
func (c *Counter) column(a arrow.Array, spec KeySpec, out []uint64) error {
	n := a.Len()
	switch a := a.(type) {
	case *array.Int64:
		for i := range n {
			if a.IsNull(i) {
				out[i] = nullHash
				continue
			}
			v := a.Value(i)
			if spec.Int != nil {
				v = spec.Int(v)
			}
			out[i] = mix(0, uint64(v))
		}
	case *array.Date32:
		for i := range n {
			if a.IsNull(i) {
				out[i] = nullHash
				continue
			}
			v := int64(a.Value(i))
			if spec.Int != nil {
				v = spec.Int(v)
			}
			out[i] = mix(0, uint64(v))
		}
	case *array.Float64:
		for i := range n {
			if a.IsNull(i) {
				out[i] = nullHash
				continue
			}
			out[i] = mix(0, uint64(int64(a.Value(i)*1e6)))
		}
	case *array.String:
		for i := range n {
			if a.IsNull(i) {
				out[i] = nullHash
				continue
			}
			s := a.Value(i)
			if spec.Prefix > 0 && len(s) > spec.Prefix {
				s = s[:spec.Prefix]
			}
			out[i] = maphash.String(c.seed, s)
		}
	case *array.Dictionary:
		dict, ok := a.Dictionary().(*array.String)
		if !ok {
			return fmt.Errorf("tables: column %s: dictionary of %s", spec.Column, a.Dictionary().DataType())
		}
		dh := make([]uint64, dict.Len())
		for j := range dh {
			s := dict.Value(j)
			if spec.Prefix > 0 && len(s) > spec.Prefix {
				s = s[:spec.Prefix]
			}
			dh[j] = maphash.String(c.seed, s)
		}
		for i := range n {
			if a.IsNull(i) {
				out[i] = nullHash
			} else {
				out[i] = dh[a.GetValueIndex(i)]
			}
		}
	default:
		return fmt.Errorf("tables: column %s: type %s not countable", spec.Column, a.DataType())
	}
	return nil
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
	cols := append([]string{c.opt.Person}, c.opt.Sensitive...)
	for si, name := range cols {
		a, err := field(rec, name)
		if err != nil {
			return err
		}
		if err := c.column(a, KeySpec{Column: name}, c.vals); err != nil {
			return err
		}
		s := c.streams[si]
		for i, v := range c.vals {
			if err := s.add(pair{classes[i], v}); err != nil {
				return err
			}
		}
	}
	c.rows += rec.NumRows()
	return nil
}

// Summary is what the k check needs at a glance.
type Summary struct {
	Rows, Classes, Smallest, BelowK int64
}

// Result calls fn for every class (in id order) and returns the summary
// for k. It may be called once.
func (c *Counter) Result(k int64, fn func(Class) error) (Summary, error) {
	sum := Summary{Rows: c.rows}
	// The streams are sorted concurrently (parallel over the streams).
	its := make([]*groupIter, len(c.streams))
	errs := make([]error, len(c.streams))
	var wg sync.WaitGroup
	for i, s := range c.streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			its[i], errs[i] = s.finish()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return sum, err
	}
	for {
		id, persons, ok, err := its[0].next()
		if err != nil {
			return sum, err
		}
		if !ok {
			break
		}
		cl := Class{ID: id, Persons: persons, Distinct: make([]int64, len(its)-1)}
		for j, it := range its[1:] {
			// Every class has rows in every stream: the streams advance together.
			sid, d, ok, err := it.next()
			if err != nil {
				return sum, err
			}
			if !ok || sid != id {
				return sum, errors.New("tables: counter streams out of step")
			}
			cl.Distinct[j] = d
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

// pair is (class, value hash).
type pair struct{ class, v uint64 }

func cmpPair(a, b pair) int {
	switch {
	case a.class < b.class:
		return -1
	case a.class > b.class:
		return 1
	case a.v < b.v:
		return -1
	case a.v > b.v:
		return 1
	}
	return 0
}

// pairStream collects pairs, deduplicated, spilling sorted runs to disk.
type pairStream struct {
	buf  []pair
	max  int
	dir  string
	runs []*os.File
}

func (s *pairStream) add(p pair) error {
	if s.buf == nil {
		// 1M pairs first (16 MiB), doubled by append up to the budget.
		s.buf = make([]pair, 0, min(s.max, 1<<20))
	}
	s.buf = append(s.buf, p)
	if len(s.buf) >= s.max {
		return s.compact()
	}
	return nil
}

// compact sorts and deduplicates the buffer; if it is still more than half
// full, it spills it as a sorted run.
func (s *pairStream) compact() error {
	sortPairs(s.buf)
	s.buf = slices.Compact(s.buf)
	if len(s.buf) > s.max/2 {
		return s.spill()
	}
	return nil
}

func (s *pairStream) spill() error {
	f, err := os.CreateTemp(s.dir, "hdw-count-*")
	if err != nil {
		return fmt.Errorf("tables: counter spill: %w", err)
	}
	os.Remove(f.Name()) // unlinked: gone with the process
	w := bufio.NewWriterSize(f, 1<<20)
	var b [16]byte
	for _, p := range s.buf {
		binary.LittleEndian.PutUint64(b[:8], p.class)
		binary.LittleEndian.PutUint64(b[8:], p.v)
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("tables: counter spill: %w", err)
	}
	s.runs = append(s.runs, f)
	s.buf = s.buf[:0]
	return nil
}

func (s *pairStream) close() error {
	var errs []error
	for _, f := range s.runs {
		errs = append(errs, f.Close())
	}
	s.runs = nil
	return errors.Join(errs...)
}

// source yields sorted pairs.
type source interface{ next() (pair, bool, error) }

type memSource struct {
	buf []pair
	i   int
}

func (m *memSource) next() (pair, bool, error) {
	if m.i >= len(m.buf) {
		return pair{}, false, nil
	}
	m.i++
	return m.buf[m.i-1], true, nil
}

type fileSource struct {
	r *bufio.Reader
	b [16]byte
}

func (f *fileSource) next() (pair, bool, error) {
	if _, err := io.ReadFull(f.r, f.b[:]); err == io.EOF {
		return pair{}, false, nil
	} else if err != nil {
		return pair{}, false, fmt.Errorf("tables: counter run: %w", err)
	}
	return pair{binary.LittleEndian.Uint64(f.b[:8]), binary.LittleEndian.Uint64(f.b[8:])}, true, nil
}

type mergeItem struct {
	p   pair
	src source
}

type mergeHeap []mergeItem

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return cmpPair(h[i].p, h[j].p) < 0 }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)        { *h = append(*h, x.(mergeItem)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// finish returns an iterator over (class, distinct values) in class order.
func (s *pairStream) finish() (*groupIter, error) {
	sortPairs(s.buf)
	s.buf = slices.Compact(s.buf)
	srcs := []source{&memSource{buf: s.buf}}
	for _, f := range s.runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		srcs = append(srcs, &fileSource{r: bufio.NewReaderSize(f, 256<<10)})
	}
	h := &mergeHeap{}
	for _, src := range srcs {
		p, ok, err := src.next()
		if err != nil {
			return nil, err
		}
		if ok {
			heap.Push(h, mergeItem{p, src})
		}
	}
	return &groupIter{h: h}, nil
}

// groupIter merges the sorted sources, deduplicating, and groups by class.
type groupIter struct {
	h           *mergeHeap
	last        pair
	started     bool
	pending     pair
	havePending bool
}

func (g *groupIter) pop() (pair, bool, error) {
	for g.h.Len() > 0 {
		top := (*g.h)[0]
		p := top.p
		np, ok, err := top.src.next()
		if err != nil {
			return pair{}, false, err
		}
		if ok {
			(*g.h)[0].p = np
			heap.Fix(g.h, 0)
		} else {
			heap.Pop(g.h)
		}
		if g.started && p == g.last {
			continue // a duplicate across runs
		}
		g.started, g.last = true, p
		return p, true, nil
	}
	return pair{}, false, nil
}

// next returns the next class and its distinct count.
func (g *groupIter) next() (uint64, int64, bool, error) {
	if !g.havePending {
		p, ok, err := g.pop()
		if err != nil || !ok {
			return 0, 0, false, err
		}
		g.pending, g.havePending = p, true
	}
	class, n := g.pending.class, int64(1)
	for {
		q, ok, err := g.pop()
		if err != nil {
			return 0, 0, false, err
		}
		if !ok {
			g.havePending = false
			return class, n, true, nil
		}
		if q.class != class {
			g.pending = q
			return class, n, true, nil
		}
		n++
	}
}

// sortPairs sorts pairs by (class, value): one in-place MSD radix pass on
// the top 16 bits of the class (uniform: it is a hash), then each bucket
// by comparison, which is about three times fewer comparisons than one
// comparison sort of the whole buffer.
func sortPairs(a []pair) {
	const bits = 10
	if len(a) < 1<<bits {
		slices.SortFunc(a, cmpPair)
		return
	}
	const shift = 64 - bits
	next := make([]int, 1<<bits)
	ends := make([]int, 1<<bits)
	for _, p := range a {
		ends[p.class>>shift]++
	}
	sum := 0
	for b, n := range ends {
		next[b] = sum
		sum += n
		ends[b] = sum
	}
	for b := range next {
		for next[b] < ends[b] {
			v := a[next[b]]
			d := int(v.class >> shift)
			for d != b {
				v, a[next[d]] = a[next[d]], v
				next[d]++
				d = int(v.class >> shift)
			}
			a[next[b]] = v
			next[b]++
		}
	}
	lo := 0
	for _, hi := range ends {
		if hi-lo > 1 {
			slices.SortFunc(a[lo:hi], cmpPair)
		}
		lo = hi
	}
}
