package warehouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/parquet-go/parquet-go"

	"hdw/keys"
	"hdw/objstore"
)

// Tables are Parquet files whose columns are all optional UTF-8 strings
// (the data dictionary gives each column its type; an empty string is
// written as null). parquet-go writes them (ARCHITECTURE §8: fastest and
// smallest here); they are encrypted as whole files with the envelope.

// MaxTableBytes bounds the plaintext of one table read into memory.
const MaxTableBytes = 1 << 30

// TableWriter streams rows into a Parquet file.
type TableWriter struct {
	cols []string
	leaf []int // cols[i] -> leaf column index in the schema (sorted)
	//lint:ignore SA1019 the untyped row writer is what streams map rows; the typed table layer (issue 17) replaces it
	w     *parquet.Writer
	row   parquet.Row
	count int64
	// pending counts the value bytes buffered in the open row group.
	pending int
}

// rowGroupBytes bounds the value bytes of one row group: parquet-go holds
// a whole row group in memory until it is flushed, so a row count alone
// lets wide rows (free-text notes) hold megabytes per table for the whole
// run (issue 9: an ingest's memory must not grow with its size).
const rowGroupBytes = 1 << 20

// NewTableWriter returns a writer of the named columns to w.
func NewTableWriter(w io.Writer, cols []string) *TableWriter {
	g := parquet.Group{}
	for _, c := range cols {
		g[c] = parquet.Optional(parquet.String())
	}
	schema := parquet.NewSchema("hdw", g)
	sorted := append([]string(nil), cols...)
	sort.Strings(sorted)
	idx := map[string]int{}
	for i, c := range sorted {
		idx[c] = i
	}
	leaf := make([]int, len(cols))
	for i, c := range cols {
		leaf[i] = idx[c]
	}
	return &TableWriter{
		cols: cols, leaf: leaf,
		w: parquet.NewWriter(w, schema, parquet.Compression(tableZstd), parquet.PageBufferSize(pageBytes),
			parquet.MaxRowsPerRowGroup(8192)),
		row: make(parquet.Row, len(cols)),
	}
}

// Columns returns the column names in writer order.
func (t *TableWriter) Columns() []string { return t.cols }

// Write writes one row; vals are aligned with the columns.
func (t *TableWriter) Write(vals []string) error {
	if len(vals) != len(t.cols) {
		return fmt.Errorf("table row has %d values for %d columns", len(vals), len(t.cols))
	}
	for i, v := range vals {
		li := t.leaf[i]
		if v == "" {
			t.row[li] = parquet.Value{}.Level(0, 0, li)
		} else {
			t.row[li] = parquet.ByteArrayValue([]byte(v)).Level(0, 1, li)
		}
	}
	if _, err := t.w.WriteRows([]parquet.Row{t.row}); err != nil {
		return err
	}
	t.count++
	for _, v := range vals {
		t.pending += len(v) + 4
	}
	if t.pending >= rowGroupBytes {
		t.pending = 0
		return t.w.Flush()
	}
	return nil
}

// WriteMap writes one row given as column -> value (missing columns are null).
func (t *TableWriter) WriteMap(m map[string]string) error {
	vals := make([]string, len(t.cols))
	for i, c := range t.cols {
		vals[i] = m[c]
	}
	return t.Write(vals)
}

// Rows returns the number of rows written.
func (t *TableWriter) Rows() int64 { return t.count }

// Close flushes the Parquet footer.
func (t *TableWriter) Close() error { return t.w.Close() }

// ErrTable is wrapped by errors about malformed tables.
var ErrTable = errors.New("warehouse: malformed table")

// ReadTable calls fn for every row of a Parquet table held in data. The row
// map is reused between calls.
func ReadTable(data []byte, fn func(row map[string]string) error) ([]string, error) {
	return ReadTableAt(bytes.NewReader(data), int64(len(data)), fn)
}

// ReadTableAt streams the rows of a Parquet table from a random-access
// reader, one row group page at a time (bounded memory).
func ReadTableAt(r io.ReaderAt, size int64, fn func(row map[string]string) error) ([]string, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTable, err)
	}
	var names []string
	for _, c := range f.Schema().Columns() {
		names = append(names, c[len(c)-1])
	}
	row := map[string]string{}
	buf := make([]parquet.Row, 256)
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		for {
			n, err := rr.ReadRows(buf)
			for _, r := range buf[:n] {
				clear(row)
				for _, v := range r {
					if c := v.Column(); c >= 0 && c < len(names) && !v.IsNull() {
						row[names[c]] = string(v.ByteArray())
					}
				}
				if ferr := fn(row); ferr != nil {
					rr.Close()
					return names, ferr
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rr.Close()
				return names, fmt.Errorf("%w: %v", ErrTable, err)
			}
		}
		rr.Close()
	}
	return names, nil
}

// ReadEncryptedTable decrypts a table object and calls fn for each row.
func ReadEncryptedTable(ctx context.Context, st objstore.Store, key string, dek keys.Secret, fn func(row map[string]string) error) ([]string, error) {
	data, err := ReadEncryptedAll(ctx, st, key, dek, MaxTableBytes)
	if err != nil {
		return nil, err
	}
	return ReadTable(data, fn)
}

// WriteEncryptedTable writes rows (maps) as an encrypted table.
func WriteEncryptedTable(ctx context.Context, st objstore.Store, key string, dek keys.Secret, cols []string, rows []map[string]string) error {
	w, err := CreateEncrypted(ctx, st, key, dek)
	if err != nil {
		return err
	}
	tw := NewTableWriter(w, cols)
	for _, r := range rows {
		if err := tw.WriteMap(r); err != nil {
			objstore.Abort(w)
			return err
		}
	}
	if err := tw.Close(); err != nil {
		objstore.Abort(w)
		return err
	}
	return w.Close()
}
