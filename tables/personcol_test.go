package tables_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/parquet/file"

	"hdw/tables"
)

// Issue 25: the Writer stores the person column dictionary-encoded (a
// person's rows repeat their pseudonym), and a table written before, in
// PLAIN pages, reads the same: the same rows through Scan, the same
// hashes through RecordsHashed (page decoders, several row groups at
// once) and through pqarrow (one reader).
func TestIssue25_PersonColumnDictionaryEncoded(t *testing.T) {
	s, err := tables.NewSchema(tables.Field{Name: tables.PersonColumn, Type: tables.String}, tables.Field{Name: "department", Type: tables.Enum},
		tables.Field{Name: "n", Type: tables.Int})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("p%032d", i/5), fmt.Sprintf("%02d", i%95), strconv.Itoa(i)}
		if i%13 == 0 {
			rows[i][0] = "" // no person: null
		}
	}
	write := func(newWriter func(*bytes.Buffer) (*tables.Writer, error)) []byte {
		return writeWith(t, newWriter, rows)
	}
	opt := tables.WriterOptions{GroupRows: 3000}
	dictData := write(func(b *bytes.Buffer) (*tables.Writer, error) { return tables.NewWriter(b, s, opt) })
	plainData := write(func(b *bytes.Buffer) (*tables.Writer, error) { return tables.NewWriterPlainPersons(b, s, opt) })
	for _, c := range []struct {
		name string
		data []byte
		dict bool
	}{{"dictionary", dictData, true}, {"plain", plainData, false}} {
		pr, err := file.NewParquetReader(bytes.NewReader(c.data))
		if err != nil {
			t.Fatal(err)
		}
		if pr.NumRowGroups() < 2 {
			t.Fatalf("%s: %d row groups", c.name, pr.NumRowGroups())
		}
		for rg := range pr.NumRowGroups() {
			cc, err := pr.MetaData().RowGroup(rg).ColumnChunk(0)
			if err != nil {
				t.Fatal(err)
			}
			if cc.HasDictionaryPage() != c.dict {
				t.Fatalf("%s: row group %d: dictionary page %v", c.name, rg, cc.HasDictionaryPage())
			}
		}
		got := 0
		_, err = tables.ScanBytes(context.Background(), c.data, tables.Query{Columns: []string{tables.PersonColumn, "n"}}, func(r *tables.Row) error {
			i, _ := strconv.Atoi(r.Get("n"))
			if r.Get(tables.PersonColumn) != rows[i][0] {
				return fmt.Errorf("row %d: person differs", i)
			}
			got++
			return nil
		})
		if err != nil || got != n {
			t.Fatalf("%s: scan: %d of %d rows: %v", c.name, got, n, err)
		}
		seed := maphash.MakeSeed()
		for _, par := range []bool{true, false} {
			got := 0
			q := tables.Query{Columns: []string{tables.PersonColumn, "department", "n"}, Parallel: par, BatchRows: 700}
			_, err := tables.RecordsHashed(context.Background(), bytes.NewReader(c.data), q, tables.PersonColumn, seed, func(rec arrow.Record) error {
				hs, ok := rec.Column(0).(*array.Uint64)
				if !ok {
					return fmt.Errorf("person column %s", rec.Column(0).DataType())
				}
				for i := range hs.Len() {
					r := rows[rec.Column(2).(*array.Int64).Value(i)]
					if hs.Value(i) != tables.HashValue(seed, []byte(r[0])) || tables.FormatValue(rec.Column(1), i) != r[1] {
						return fmt.Errorf("row %s differs", r[2])
					}
					got++
				}
				return nil
			})
			if err != nil || got != n {
				t.Fatalf("%s, parallel %v: %d of %d rows: %v", c.name, par, got, n, err)
			}
		}
	}
}

// FuzzRecordsHashed: a damaged table read with its persons hashed (the
// page decoders, several row groups at once) fails with ErrTable or reads,
// never panics nor hangs.
func FuzzRecordsHashed(f *testing.F) {
	s, err := tables.NewSchema(tables.Field{Name: tables.PersonColumn, Type: tables.String}, tables.Field{Name: "department", Type: tables.Enum})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := tables.NewWriter(&buf, s, tables.WriterOptions{GroupRows: 40})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 100 {
		p := fmt.Sprintf("p%d", i/3)
		if i%7 == 0 {
			p = ""
		}
		if err := w.Append([]string{p, fmt.Sprintf("%02d", i%5)}); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	seed := maphash.MakeSeed()
	f.Fuzz(func(t *testing.T, data []byte) {
		q := tables.Query{Columns: []string{tables.PersonColumn, "department"}, Parallel: true}
		_, err := tables.RecordsHashed(context.Background(), bytes.NewReader(data), q, tables.PersonColumn, seed, func(rec arrow.Record) error {
			for i := range int(rec.NumRows()) {
				_ = tables.FormatValue(rec.Column(0), i)
				_ = tables.FormatValue(rec.Column(1), i)
			}
			return nil
		})
		if err != nil && !errors.Is(err, tables.ErrTable) {
			t.Fatalf("error not ErrTable: %v", err)
		}
	})
}
