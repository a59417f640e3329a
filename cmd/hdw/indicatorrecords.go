package main

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"hdw/export"
	"hdw/indicators"
	"hdw/tables"
)

// indicatorTable is a table an indicator reads (the health table or a
// workspace's): the string view, typed record batches, and batches with
// the person read as the pseudonym's keyed hash.
type indicatorTable interface {
	export.RecordSource
	Scan(ctx context.Context, cols []string, fn func(string, []string) error) error
	HashedRecords(ctx context.Context, cols []string, seed maphash.Seed, fn func(arrow.Record) error) error
}

// indicatorRows gives an indicator a table's rows with the person first
// (indicators.HashedRecordRows: typed record batches, the columns decoded
// concurrently, the persons hashed where their pages are decoded; issue
// 25). The rows of the persons in skip (processing restricted, GDPR art.
// 18, in the table's pseudonym domain) count for no one: their person is
// blanked, as a row without a person, whichever way the rows are read.
type indicatorRows struct {
	t    indicatorTable
	skip map[string]bool
}

func (r indicatorRows) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	if len(r.skip) == 0 {
		return r.t.Scan(ctx, cols, fn)
	}
	return r.t.Scan(ctx, cols, func(p string, vals []string) error {
		if r.skip[p] {
			p = ""
		}
		return fn(p, vals)
	})
}

func (r indicatorRows) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	cols = append([]string{"pseudonym"}, cols...)
	if len(r.skip) == 0 {
		return r.t.Records(ctx, cols, fn)
	}
	return r.t.Records(ctx, cols, func(rec arrow.Record) error {
		return blankPersons(rec, func(a arrow.Array, i int) bool {
			s, ok := a.(*array.String)
			return ok && s.IsValid(i) && r.skip[s.Value(i)]
		}, fn)
	})
}

func (r indicatorRows) HashedRecords(ctx context.Context, cols []string, seed maphash.Seed, fn func(arrow.Record) error) error {
	if len(r.skip) == 0 {
		return r.t.HashedRecords(ctx, cols, seed, fn)
	}
	drop := make(map[uint64]bool, len(r.skip))
	for p := range r.skip {
		drop[tables.HashValue(seed, []byte(p))] = true
	}
	return r.t.HashedRecords(ctx, cols, seed, func(rec arrow.Record) error {
		return blankPersons(rec, func(a arrow.Array, i int) bool {
			h, ok := a.(*array.Uint64)
			return ok && h.IsValid(i) && drop[h.Value(i)]
		}, fn)
	})
}

// blankPersons calls fn with rec, or with a copy of it whose person column
// (the first: pseudonyms or their hashes) is empty in the rows where drop
// holds. A person column of another type is an error: restricted persons
// could not be left out (fail closed).
func blankPersons(rec arrow.Record, drop func(arrow.Array, int) bool, fn func(arrow.Record) error) error {
	person := rec.Column(0)
	var b array.Builder
	switch person.(type) {
	case *array.String:
		b = array.NewStringBuilder(memory.DefaultAllocator)
	case *array.Uint64:
		b = array.NewUint64Builder(memory.DefaultAllocator)
	default:
		return fmt.Errorf("indicators: a person column of type %s: restricted persons cannot be left out of it", person.DataType())
	}
	defer b.Release()
	n := person.Len()
	first := -1
	for i := range n {
		if drop(person, i) {
			first = i
			break
		}
	}
	if first < 0 {
		return fn(rec)
	}
	b.Reserve(n)
	for i := range n {
		switch {
		case i >= first && drop(person, i):
			b.AppendEmptyValue()
		case person.IsNull(i):
			b.AppendNull()
		default:
			switch a := person.(type) {
			case *array.String:
				b.(*array.StringBuilder).Append(a.Value(i))
			case *array.Uint64:
				b.(*array.Uint64Builder).Append(a.Value(i))
			}
		}
	}
	blanked := b.NewArray()
	defer blanked.Release()
	cols := slices.Clone(rec.Columns())
	cols[0] = blanked
	out := array.NewRecord(rec.Schema(), cols, rec.NumRows())
	defer out.Release()
	return fn(out)
}

var _ indicators.HashedRecordRows = indicatorRows{}
