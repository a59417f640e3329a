package tables

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// maxRowGroupReaders bounds the readers of a [Query].Parallel read.
const maxRowGroupReaders = 4

// rowGroup is one row group's record batches, retained, or the error
// that stopped its read.
type rowGroup struct {
	recs []arrow.Record
	err  error
}

// recordsByRowGroup is [Records] for a Parallel query of a file without
// modular encryption and of several row groups: a few readers decode
// whole row groups at the same time (each row group's columns one after
// the other), and fn gets their batches in file order. At most about twice
// as many row groups as readers are held decoded at a time. The readers
// share fr (its column readers each take their own buffers; the source is
// read with ReadAt only).
func recordsByRowGroup(ctx context.Context, fr *pqarrow.FileReader, as *arrow.Schema, idx []int, groups, batch int, fn func(arrow.Record) error) error {
	fr.Props.Parallel = false
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readers := min(runtime.GOMAXPROCS(0), groups, maxRowGroupReaders)
	type job struct {
		rg  int
		out chan rowGroup
	}
	jobs := make(chan job)
	pending := make(chan chan rowGroup, 2*readers)
	go func() {
		defer close(pending)
		defer close(jobs)
		for rg := range groups {
			out := make(chan rowGroup, 1)
			select {
			case pending <- out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{rg, out}:
			case <-ctx.Done():
				out <- rowGroup{err: ctx.Err()}
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.out <- readRowGroup(ctx, fr, as, idx, j.rg, batch)
			}
		}()
	}
	var err error
	for out := range pending {
		g := <-out
		for _, rec := range g.recs {
			if err == nil && g.err == nil {
				err = fn(rec)
			}
			rec.Release()
		}
		if err == nil {
			err = g.err
		}
		if err != nil {
			cancel()
		}
	}
	wg.Wait()
	return err
}

// readRowGroup decodes the projected columns idx of row group rg.
func readRowGroup(ctx context.Context, fr *pqarrow.FileReader, as *arrow.Schema, idx []int, rg, batch int) (g rowGroup) {
	defer func() {
		if p := recover(); p != nil {
			for _, rec := range g.recs {
				rec.Release()
			}
			g = rowGroup{err: fmt.Errorf("%w: %v", ErrTable, p)}
		}
	}()
	if g, ok := readRowGroupStrings(ctx, fr, as, idx, rg, batch); ok {
		return g
	}
	rr, err := fr.GetRecordReader(ctx, idx, []int{rg})
	if err != nil {
		return rowGroup{err: fmt.Errorf("%w: %v", ErrTable, err)}
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.Record()
		rec.Retain()
		g.recs = append(g.recs, rec)
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		for _, rec := range g.recs {
			rec.Release()
		}
		return rowGroup{err: fmt.Errorf("%w: %v", ErrTable, err)}
	}
	return g
}
