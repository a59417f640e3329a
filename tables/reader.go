package tables

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"hdw/keys"
)

// Source is a random-access table file (an *os.File, a *bytes.Reader).
type Source interface {
	io.ReaderAt
	io.Seeker
}

// Query selects what a scan returns.
type Query struct {
	// Columns is the projection, in the order wanted; empty means all the
	// file's columns. A column the file lacks (added to the dictionary
	// after the file was written) reads as null.
	Columns []string
	// Where keeps the rows it returns true for (nil keeps all). It sees
	// only the projected columns.
	Where func(*Row) bool
	// Key decrypts a file written with Parquet modular encryption.
	Key keys.Secret
	// BatchRows is the rows per record batch (default 8,192).
	BatchRows int
	// Parallel decodes the projected columns concurrently.
	Parallel bool
}

// Row is one row of a scan; it is valid only during the callback.
type Row struct {
	rec arrow.Record
	i   int
	col map[string]int
}

// Columns returns the row's columns, in the file's (projected) order.
func (r *Row) Columns() []string {
	out := make([]string, 0, len(r.col))
	for _, f := range r.rec.Schema().Fields() {
		out = append(out, f.Name)
	}
	return out
}

// Null reports whether the column is null (or absent).
func (r *Row) Null(name string) bool {
	_, ok := r.value(name)
	return !ok
}

// value returns the column's array when the row holds a value in it
// (false when the column is absent or null).
func (r *Row) value(name string) (arrow.Array, bool) {
	c, ok := r.col[name]
	if !ok || r.rec.Column(c).IsNull(r.i) {
		return nil, false
	}
	return r.rec.Column(c), true
}

// Get returns the column's value as a string ("" for null): integers in
// decimal, floats in the shortest form, dates as YYYY-MM-DD.
func (r *Row) Get(name string) string {
	c, ok := r.col[name]
	if !ok {
		return ""
	}
	return format(r.rec.Column(c), r.i)
}

// Int returns an integer column's value (false when null or not an integer).
func (r *Row) Int(name string) (int64, bool) {
	col, ok := r.value(name)
	if !ok {
		return 0, false
	}
	switch a := col.(type) {
	case *array.Int64:
		return a.Value(r.i), true
	case *array.Int32:
		return int64(a.Value(r.i)), true
	}
	n, err := strconv.ParseInt(r.Get(name), 10, 64) // a table of today's layout
	return n, err == nil
}

// Float returns a number column's value (false when null or not a number).
func (r *Row) Float(name string) (float64, bool) {
	col, ok := r.value(name)
	if !ok {
		return 0, false
	}
	switch a := col.(type) {
	case *array.Float64:
		return a.Value(r.i), true
	case *array.Int64:
		return float64(a.Value(r.i)), true
	}
	f, err := parseFloat(r.Get(name))
	return f, err == nil
}

// Date returns a date column's value in days since 1970-01-01.
func (r *Row) Date(name string) (int32, bool) {
	col, ok := r.value(name)
	if !ok {
		return 0, false
	}
	if a, ok := col.(*array.Date32); ok {
		return int32(a.Value(r.i)), true
	}
	d, err := ParseDate(r.Get(name))
	return d, err == nil
}

// Map fills dst (cleared first) with the row's non-null values as strings.
func (r *Row) Map(dst map[string]string) map[string]string {
	if dst == nil {
		dst = make(map[string]string, len(r.col))
	}
	clear(dst)
	for name, c := range r.col {
		if v := format(r.rec.Column(c), r.i); v != "" {
			dst[name] = v
		}
	}
	return dst
}

// FormatValue returns a value of a column as [Row.Get] does ("" for null).
func FormatValue(a arrow.Array, i int) string { return format(a, i) }

func format(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'f', -1, 64)
	case *array.Date32:
		return FormatDate(int32(a.Value(i)))
	case *array.Dictionary:
		return format(a.Dictionary(), a.GetValueIndex(i))
	}
	return a.ValueStr(i)
}

// The bounds of a column chunk's read buffer.
const (
	maxStreamBuffer = 1 << 20
	minStreamBuffer = 4 << 10
)

// open opens a Parquet file for reading, with its modular encryption key.
func open(src Source, key keys.Secret, batch int, parallel ...bool) (fr *pqarrow.FileReader, err error) {
	defer func() {
		if p := recover(); p != nil {
			fr, err = nil, fmt.Errorf("%w: %v", ErrTable, p)
		}
	}()
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	props.BufferSize = maxStreamBuffer
	if key.Len() > 0 {
		props.FileDecryptProps = parquet.NewFileDecryptionProperties(parquet.WithFooterKey(string(key.Bytes())))
	}
	pf, err := file.NewParquetReader(src, file.WithReadProps(props))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTable, err)
	}
	// pqarrow reads columns in goroutines, where a panic on a malformed
	// footer cannot be recovered: walk the footer here first (issue 17
	// fuzzing found a row group with missing column chunks).
	md := pf.MetaData()
	largest := int64(0)
	for i := range len(md.RowGroups) {
		rg := md.RowGroup(i)
		if rg.NumColumns() != md.Schema.NumColumns() {
			pf.Close()
			return nil, fmt.Errorf("%w: row group %d has %d columns, the schema %d", ErrTable, i, rg.NumColumns(), md.Schema.NumColumns())
		}
		for j := range rg.NumColumns() {
			cc, err := rg.ColumnChunk(j)
			if err != nil {
				pf.Close()
				return nil, fmt.Errorf("%w: %v", ErrTable, err)
			}
			largest = max(largest, cc.TotalCompressedSize())
		}
	}
	// Each column chunk read gets a buffer of this size, allocated and
	// cleared afresh: no larger than the largest chunk (a page larger than
	// the buffer grows it), so that small row groups do not clear 1 MiB
	// per column each.
	props.BufferSize = min(maxStreamBuffer, max(minStreamBuffer, largest))
	if batch <= 0 {
		batch = 8192
	}
	// Columns are decoded concurrently only without modular encryption:
	// Arrow v17's page decryptor is shared by the column readers of a file
	// and not safe for concurrent use (a parallel read of an encrypted
	// workspace table failed its GCM check, in a goroutine where the panic
	// cannot be recovered).
	par := len(parallel) > 0 && parallel[0] && key.Len() == 0
	fr, err = pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batch), Parallel: par}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("%w: %v", ErrTable, err)
	}
	return fr, nil
}

func typesOf(fr *pqarrow.FileReader) string {
	if kv := fr.ParquetReader().MetaData().KeyValueMetadata(); kv != nil {
		if v := kv.FindValue(typesKey); v != nil {
			return *v
		}
	}
	return ""
}

// SchemaOf returns the schema of a table file (its footer only).
func SchemaOf(src Source, key keys.Secret) (*Schema, error) {
	fr, err := open(src, key, 0)
	if err != nil {
		return nil, err
	}
	defer fr.ParquetReader().Close()
	as, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTable, err)
	}
	return fromArrow(as, typesOf(fr)), nil
}

// Records streams the table's record batches (projected, unfiltered) and
// returns the file's schema. Columns the file lacks are left out of the
// batches (use [Scan] for nulls in their place). A record is valid only
// during fn.
func Records(ctx context.Context, src Source, q Query, fn func(arrow.Record) error) (s *Schema, err error) {
	fr, err := open(src, q.Key, q.BatchRows, q.Parallel)
	if err != nil {
		return nil, err
	}
	defer fr.ParquetReader().Close()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrTable, p)
		}
	}()
	as, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTable, err)
	}
	s = fromArrow(as, typesOf(fr))
	var idx []int
	if len(q.Columns) == 0 {
		for i := range as.NumFields() {
			idx = append(idx, i)
		}
	} else {
		for _, c := range q.Columns {
			if fi := as.FieldIndices(c); len(fi) > 0 && !slices.Contains(idx, fi[0]) {
				idx = append(idx, fi[0])
			}
		}
	}
	if len(idx) == 0 || fr.ParquetReader().NumRows() == 0 {
		return s, nil
	}
	// Row groups decoded at the same time: only without modular
	// encryption (see open).
	if groups := fr.ParquetReader().NumRowGroups(); q.Parallel && q.Key.Len() == 0 && groups > 1 {
		return s, recordsByRowGroup(ctx, fr, as, idx, groups, int(fr.Props.BatchSize), fn)
	}
	// Leaf indices: hdw's tables are flat, one leaf per field.
	rr, err := fr.GetRecordReader(ctx, idx, nil)
	if err != nil {
		return s, fmt.Errorf("%w: %v", ErrTable, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.Record()); err != nil {
			return s, err
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return s, fmt.Errorf("%w: %v", ErrTable, err)
	}
	return s, nil
}

// Scan calls fn for every row that q.Where keeps, with q.Columns projected,
// streaming one record batch at a time, and returns the file's schema.
func Scan(ctx context.Context, src Source, q Query, fn func(*Row) error) (*Schema, error) {
	row := &Row{}
	return Records(ctx, src, q, func(rec arrow.Record) error {
		row.rec = rec
		if row.col == nil {
			row.col = make(map[string]int, rec.NumCols())
			for i, f := range rec.Schema().Fields() {
				row.col[f.Name] = i
			}
		}
		for i := range int(rec.NumRows()) {
			row.i = i
			if q.Where != nil && !q.Where(row) {
				continue
			}
			if err := fn(row); err != nil {
				return err
			}
		}
		return nil
	})
}

// ScanBytes is [Scan] over a table held in memory (tests, small tables; a
// stored table: [ScanObject]).
func ScanBytes(ctx context.Context, data []byte, q Query, fn func(*Row) error) (*Schema, error) {
	return Scan(ctx, bytes.NewReader(data), q, fn)
}
