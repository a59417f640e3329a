package tables

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

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
	// spilled counts the bytes written to runs.
	spilled int64
}

// addAll adds the pairs (classes[i], vals[i]).
func (s *pairStream) addAll(classes, vals []uint64) error {
	for i, v := range vals {
		if err := s.add(pair{classes[i], v}); err != nil {
			return err
		}
	}
	return nil
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
	s.spilled += int64(len(s.buf)) * int64(len(b))
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
	person      []uint32 // weighted: the current person's value ids
	who         uint64   // weighted: the current person's bits
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

// next returns the next class and its distinct count. With w, the pairs
// are weighted words (person bits, value id: [Counter.weighted]): w gets
// each value's weight in persons and the count is the distinct values.
func (g *groupIter) next(w map[uint32]float64) (uint64, int64, bool, error) {
	if !g.havePending {
		p, ok, err := g.pop()
		if err != nil || !ok {
			return 0, 0, false, err
		}
		g.pending, g.havePending = p, true
	}
	class, n := g.pending.class, int64(1)
	g.person = g.person[:0]
	if w != nil {
		g.weigh(w, g.pending.v)
	}
	for {
		q, ok, err := g.pop()
		if err != nil {
			return 0, 0, false, err
		}
		if !ok || q.class != class {
			g.pending, g.havePending = q, ok
			if w != nil {
				g.flush(w)
				n = int64(len(w))
			}
			return class, n, true, nil
		}
		n++
		if w != nil {
			g.weigh(w, q.v)
		}
	}
}

// weigh adds a weighted word to the current person's values, first giving
// the previous person's values their weight when v is another person's.
func (g *groupIter) weigh(w map[uint32]float64, v uint64) {
	if len(g.person) > 0 && v>>valueBits != g.who {
		g.flush(w)
	}
	g.who = v >> valueBits
	g.person = append(g.person, uint32(v&(1<<valueBits-1)))
}

// flush gives each value of the current person 1/n (n: their values).
func (g *groupIter) flush(w map[uint32]float64) {
	for _, id := range g.person {
		w[id] += 1 / float64(len(g.person))
	}
	g.person = g.person[:0]
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
