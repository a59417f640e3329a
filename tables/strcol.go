package tables

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// stringChunk is the values read at a time from a column chunk.
const stringChunk = 4096

// byteArrays reads the flat byte-array column leaf of row group rg a
// batch at a time: fn gets the first row of the batch, its rows' definition
// levels (a row holds a value when maxDef is 0 or its level is maxDef) and
// the batch's values (nulls left out), which alias the reader's page
// buffers: valid during the call only. n is the row group's rows; ok is
// false without an error when the column is not one it reads (nested, or
// not byte arrays).
func byteArrays(fr *pqarrow.FileReader, rg, leaf int, fn func(row int, defs []int16, maxDef int16, vals []parquet.ByteArray) error) (n int, ok bool, err error) {
	rgr := fr.ParquetReader().RowGroup(rg)
	rows := rgr.NumRows()
	cr, err := rgr.Column(leaf)
	if err != nil {
		return 0, false, err
	}
	br, ok := cr.(*file.ByteArrayColumnChunkReader)
	maxDef := cr.Descriptor().MaxDefinitionLevel()
	if !ok || cr.Descriptor().MaxRepetitionLevel() != 0 || maxDef > 1 || rows > math.MaxInt32 {
		return 0, false, nil
	}
	vals := make([]parquet.ByteArray, stringChunk)
	defs := make([]int16, stringChunk)
	for row := int64(0); row < rows; {
		total, nv, err := br.ReadBatch(min(stringChunk, rows-row), vals, defs, nil)
		if err != nil {
			return 0, true, err
		}
		if total == 0 {
			return 0, true, fmt.Errorf("column %d of row group %d: %d of %d rows", leaf, rg, row, rows)
		}
		if err := fn(int(row), defs[:total], maxDef, vals[:nv]); err != nil {
			return 0, true, err
		}
		row += total
	}
	return int(rows), true, nil
}

// errTooLong stops a string column whose bytes do not fit int32 offsets.
var errTooLong = errors.New("tables: string column over 2 GiB")

// stringColumn decodes the flat string column leaf of row group rg whole
// into one String array, each value's bytes copied once into one buffer
// (pqarrow's builder appends values one at a time: most of a scan's time
// on a column of pseudonyms). nil without an error when the column is
// not one it reads (nested, or not byte arrays): pqarrow reads it then.
func stringColumn(fr *pqarrow.FileReader, rg, leaf int) (arrow.Array, error) {
	rows := fr.ParquetReader().RowGroup(rg).NumRows()
	var data []byte
	offsets := make([]int32, 0, rows+1)
	offsets = append(offsets, 0)
	valid := make([]byte, bitutil.BytesForBits(rows))
	nulls := 0
	n, ok, err := byteArrays(fr, rg, leaf, func(row int, defs []int16, maxDef int16, vals []parquet.ByteArray) error {
		if data == nil {
			// The first batch's bytes per row, for the whole row group
			// (an eighth more: one growth at most, usually none).
			size := 0
			for _, v := range vals {
				size += len(v)
			}
			data = make([]byte, 0, int64(size)*rows/int64(len(defs))*9/8+64)
		}
		v := 0
		for i := range defs {
			if maxDef == 0 || defs[i] == maxDef {
				data = append(data, vals[v]...)
				v++
				bitutil.SetBit(valid, row+i)
			} else {
				nulls++
			}
			if len(data) > math.MaxInt32 {
				return errTooLong
			}
			offsets = append(offsets, int32(len(data)))
		}
		return nil
	})
	switch {
	case errors.Is(err, errTooLong):
		return nil, nil
	case err != nil:
		return nil, err
	case !ok:
		return nil, nil
	}
	bufs := []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(data)}
	if nulls > 0 {
		bufs[0] = memory.NewBufferBytes(valid)
	}
	d := array.NewData(arrow.BinaryTypes.String, n, bufs, nil, nulls, 0)
	defer d.Release()
	return array.NewStringData(d), nil
}

// stringsOf reads the string column leaf (named name) of row group rg:
// hashed or as a dictionary for a [RecordsHashed] read (h not nil), else
// by stringColumn.
func stringsOf(fr *pqarrow.FileReader, rg, leaf int, name string, h *hashed) (arrow.Array, error) {
	var a arrow.Array
	var err error
	switch {
	case h != nil && name == h.col:
		a, err = hashedColumn(fr, rg, leaf, h.seed)
	case h != nil:
		a, err = dictColumn(fr, rg, leaf)
	}
	if a != nil || err != nil {
		return a, err
	}
	return stringColumn(fr, rg, leaf)
}

// readRowGroupStrings is readRowGroup with the flat string columns of idx
// (fields of as) decoded by [stringsOf] and the others by pqarrow,
// batch by batch. ok is false when no column is one stringsOf reads.
func readRowGroupStrings(ctx context.Context, fr *pqarrow.FileReader, as *arrow.Schema, idx []int, rg, batch int) (g rowGroup, ok bool) {
	strs := make([]arrow.Array, len(idx))
	defer func() {
		for _, a := range strs {
			if a != nil {
				a.Release()
			}
		}
	}()
	var others []int
	fields := make([]arrow.Field, len(idx))
	h := hashedOf(ctx)
	for j, i := range idx {
		fields[j] = as.Field(i)
		if fields[j].Type.ID() == arrow.STRING {
			a, err := stringsOf(fr, rg, i, fields[j].Name, h)
			if err != nil {
				return rowGroup{err: fmt.Errorf("%w: %v", ErrTable, err)}, true
			}
			if strs[j] = a; a != nil {
				fields[j].Type = a.DataType()
				ok = true
				continue
			}
		}
		others = append(others, i)
	}
	if !ok {
		return rowGroup{}, false
	}
	md := as.Metadata()
	schema := arrow.NewSchema(fields, &md)
	n := fr.ParquetReader().MetaData().RowGroup(rg).NumRows()
	// The other columns' batches set the batch boundaries.
	var rr pqarrow.RecordReader
	if len(others) > 0 {
		var err error
		if rr, err = fr.GetRecordReader(ctx, others, []int{rg}); err != nil {
			return rowGroup{err: fmt.Errorf("%w: %v", ErrTable, err)}, true
		}
		defer rr.Release()
	}
	off := int64(0)
	for off < n {
		size := min(int64(batch), n-off)
		var rec arrow.Record
		if rr != nil {
			if !rr.Next() {
				break
			}
			rec = rr.Record()
			size = min(rec.NumRows(), n-off)
		}
		cols := make([]arrow.Array, len(idx))
		k := 0
		for j := range idx {
			if strs[j] != nil {
				cols[j] = array.NewSlice(strs[j], off, off+size)
				defer cols[j].Release()
			} else {
				cols[j] = rec.Column(k)
				k++
			}
		}
		g.recs = append(g.recs, array.NewRecord(schema, cols, size))
		off += size
	}
	var err error
	if rr != nil {
		if err = rr.Err(); err == io.EOF {
			err = nil
		}
	}
	if err == nil && off != n {
		err = fmt.Errorf("row group %d: %d of %d rows", rg, off, n)
	}
	if err != nil {
		for _, rec := range g.recs {
			rec.Release()
		}
		return rowGroup{err: fmt.Errorf("%w: %v", ErrTable, err)}, true
	}
	return g, true
}
