package tables

import (
	"context"
	"hash/maphash"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"hdw/keys"
	"hdw/objstore"
)

// RecordsHashed is [Records] with column col's values replaced by their
// keyed 64-bit hashes ([HashValue] with seed), a Uint64 column of the same
// name without nulls, for a reader that only tells the values apart (the
// persons of an indicator): the values are hashed where they are decoded,
// never copied into a string column. The string columns that the file
// stores dictionary-encoded (enums) may come as Dictionary arrays (int32
// indices into their distinct values) instead of String arrays, batch by
// batch.
func RecordsHashed(ctx context.Context, src Source, q Query, col string, seed maphash.Seed, fn func(arrow.Record) error) (*Schema, error) {
	// A row group's reader (readRowGroupStrings) finds the request here:
	// the context is this read's own, never handed to fn.
	hctx := context.WithValue(ctx, hashedKey{}, &hashed{col: col, seed: seed})
	return Records(hctx, src, q, func(rec arrow.Record) error {
		// Row groups read by pqarrow (a modular-encrypted table, or one
		// row group) hash the strings it decoded.
		if rec, ok := hashStrings(rec, col, seed); ok {
			defer rec.Release()
			return fn(rec)
		}
		return fn(rec)
	})
}

// RecordsObjectHashed is [RecordsHashed] over a stored table in either
// mode.
func RecordsObjectHashed(ctx context.Context, st objstore.Store, key string, dek keys.Secret, q Query, col string, seed maphash.Seed, fn func(arrow.Record) error) (*Schema, error) {
	return withObject(ctx, st, key, dek, q, func(src Source, q Query) (*Schema, error) {
		return RecordsHashed(ctx, src, q, col, seed, fn)
	})
}

// HashValue is a value's keyed hash as [RecordsHashed] gives it: 0 for an
// empty value (a null too), never 0 otherwise.
func HashValue(seed maphash.Seed, v []byte) uint64 {
	if len(v) == 0 {
		return 0
	}
	return max(1, maphash.Bytes(seed, v))
}

// hashed is a [RecordsHashed] request.
type hashed struct {
	col  string
	seed maphash.Seed
}

type hashedKey struct{}

func hashedOf(ctx context.Context) *hashed {
	h, _ := ctx.Value(hashedKey{}).(*hashed)
	return h
}

// hashedColumn reads the flat byte-array column leaf of row group rg into
// the values' keyed hashes (a dictionary's entries hashed once each); nil
// without an error when walkPages does not decode it.
func hashedColumn(fr *pqarrow.FileReader, rg, leaf int, seed maphash.Seed) (arrow.Array, error) {
	rows := fr.ParquetReader().RowGroup(rg).NumRows()
	hs := make([]uint64, 0, rows)
	var dictHash []uint64
	ok, err := walkPages(fr, rg, leaf, func(p *pageValues, n int) error {
		if p.isIdx && len(dictHash) != p.dictLen() {
			dictHash = dictHash[:0]
			for i := range p.dictLen() {
				dictHash = append(dictHash, HashValue(seed, p.dictValue(i)))
			}
		}
		switch {
		case p.full && p.isIdx:
			for _, x := range p.idx {
				hs = append(hs, dictHash[x])
			}
			return nil
		case p.full:
			for i := range p.plain {
				hs = append(hs, HashValue(seed, p.value(i)))
			}
			return nil
		}
		v := 0
		for _, d := range p.defs {
			h := uint64(0)
			if d == 1 {
				if p.isIdx {
					h = dictHash[p.idx[v]]
				} else {
					h = HashValue(seed, p.value(v))
				}
				v++
			}
			hs = append(hs, h)
		}
		return nil
	})
	if !ok {
		return nil, err
	}
	return uint64Array(hs), nil
}

func uint64Array(hs []uint64) arrow.Array {
	d := array.NewData(arrow.PrimitiveTypes.Uint64, len(hs), []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Uint64Traits.CastToBytes(hs))}, nil, 0, 0)
	defer d.Release()
	return array.NewUint64Data(d)
}

// dictType is the type of a dictionary-encoded string column's arrays.
var dictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// dictColumn reads the flat string column leaf of row group rg, when the
// file stores it dictionary-encoded, as one Dictionary array: the
// indices as they are stored, no string per row (nil without an error
// otherwise: no dictionary, a page that is not dictionary-encoded, or one
// walkPages does not decode).
func dictColumn(fr *pqarrow.FileReader, rg, leaf int) (arrow.Array, error) {
	rgr := fr.ParquetReader().RowGroup(rg)
	meta, err := rgr.MetaData().ColumnChunk(leaf)
	if err != nil || !meta.HasDictionaryPage() {
		return nil, err
	}
	rows := rgr.NumRows()
	idx := make([]int32, 0, rows)
	valid := make([]byte, bitutil.BytesForBits(rows))
	nulls := 0
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	var values arrow.Array
	defer func() {
		if values != nil {
			values.Release()
		}
	}()
	ok, err := walkPages(fr, rg, leaf, func(p *pageValues, n int) error {
		if !p.isIdx {
			return errPageLayout
		}
		if values == nil {
			// The chunk's dictionary, from its first data page (p is
			// walkPages' own: not kept after the walk).
			for i := range p.dictLen() {
				b.BinaryBuilder.Append(p.dictValue(i))
			}
			values = b.NewArray()
		}
		if p.full {
			bitutil.SetBitsTo(valid, int64(len(idx)), int64(n), true)
			idx = append(idx, p.idx...)
			return nil
		}
		v := 0
		for _, d := range p.defs {
			if d == 1 {
				bitutil.SetBit(valid, len(idx))
				idx = append(idx, p.idx[v])
				v++
			} else {
				idx = append(idx, 0)
				nulls++
			}
		}
		return nil
	})
	if !ok {
		return nil, err
	}
	bufs := []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(idx))}
	if nulls > 0 {
		bufs[0] = memory.NewBufferBytes(valid)
	}
	ind := array.NewData(arrow.PrimitiveTypes.Int32, len(idx), bufs, nil, nulls, 0)
	defer ind.Release()
	if values == nil {
		values = b.NewArray()
	}
	indices := array.MakeFromData(ind)
	defer indices.Release()
	return array.NewDictionaryArray(dictType, indices, values), nil
}

// hashStrings returns rec with its String column col replaced by the
// values' keyed hashes (false: no such column, or already hashed).
func hashStrings(rec arrow.Record, col string, seed maphash.Seed) (arrow.Record, bool) {
	idx := rec.Schema().FieldIndices(col)
	if len(idx) == 0 {
		return nil, false
	}
	s, ok := rec.Column(idx[0]).(*array.String)
	if !ok {
		return nil, false
	}
	hs := make([]uint64, s.Len())
	for i := range hs {
		if v := s.Value(i); v != "" && s.IsValid(i) {
			hs[i] = max(1, maphash.String(seed, v)) // HashValue of the bytes
		}
	}
	h := uint64Array(hs)
	defer h.Release()
	cols := rec.Columns()
	fields := rec.Schema().Fields()
	cols = append([]arrow.Array(nil), cols...)
	cols[idx[0]] = h
	fields[idx[0]].Type = arrow.PrimitiveTypes.Uint64
	md := rec.Schema().Metadata()
	return array.NewRecord(arrow.NewSchema(fields, &md), cols, rec.NumRows()), true
}
