package warehouse

import (
	"bytes"
	"context"
	"io"

	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
)

// Tables are written and read by package tables (issue 17: typed columns
// from the data dictionary, Arrow/Parquet, one encrypted-table write and
// scan). The helpers below are the string-valued view of a table (a
// row as column -> string) for callers that read rows as strings; they go
// through package tables, which every table write goes through.

// MaxTableBytes bounds the plaintext of one table read into memory.
const MaxTableBytes = tables.MaxObjectBytes

// ErrTable is wrapped by errors about malformed tables.
var ErrTable = tables.ErrTable

// ReadTable calls fn for every row of a Parquet table held in data (values
// as strings, see [tables.Row.Get]); the row map is reused between calls.
// It returns the table's columns.
func ReadTable(data []byte, fn func(row map[string]string) error) ([]string, error) {
	return ReadTableAt(bytes.NewReader(data), int64(len(data)), fn)
}

// ReadTableAt streams the rows of a Parquet table from a random-access
// reader, one record batch at a time (bounded memory).
func ReadTableAt(r io.ReaderAt, size int64, fn func(row map[string]string) error) ([]string, error) {
	m := map[string]string{}
	s, err := tables.Scan(context.Background(), io.NewSectionReader(r, 0, size), tables.Query{}, func(row *tables.Row) error {
		return fn(row.Map(m))
	})
	if s == nil {
		return nil, err
	}
	return s.Columns(), err
}

// ReadEncryptedTable scans a stored table (either encryption mode, typed or
// of the all-string layout) and calls fn for each row as strings.
func ReadEncryptedTable(ctx context.Context, st objstore.Store, key string, dek keys.Secret, fn func(row map[string]string) error) ([]string, error) {
	m := map[string]string{}
	s, err := tables.ScanObject(ctx, st, key, dek, tables.Query{}, func(row *tables.Row) error {
		return fn(row.Map(m))
	})
	if s == nil {
		return nil, err
	}
	return s.Columns(), err
}

// WriteEncryptedTable writes rows (maps) as an envelope-encrypted table of
// string columns.
func WriteEncryptedTable(ctx context.Context, st objstore.Store, key string, dek keys.Secret, cols []string, rows []map[string]string) error {
	w, err := tables.Create(ctx, st, key, dek, tables.Envelope, tables.Strings(cols))
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.AppendMap(r); err != nil {
			w.Abort()
			return err
		}
	}
	_, err = w.Close()
	return err
}
