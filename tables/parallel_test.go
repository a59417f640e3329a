package tables_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"hdw/keys"
	"hdw/objstore/storetest"
	"hdw/tables"
)

// TestIssue17_ParallelReadOfEncryptedTable: a read that asks for columns
// decoded concurrently (Query.Parallel, as the gate and indicators do) of
// a table under Parquet modular encryption gives every row, every time.
// Arrow v17's page decryptor is not safe for concurrent use: a parallel
// read of an encrypted workspace table once failed its GCM check in a
// reader goroutine, a panic nothing could recover (a clean-clone CI run).
// Encrypted tables are therefore read column after column.
func TestIssue17_ParallelReadOfEncryptedTable(t *testing.T) {
	ctx := context.Background()
	st := storetest.Local(t, t.TempDir())
	s := tables.FromDictionary(dict(t, ""), cols)
	dek := keys.RandomSecret()
	const key, n = "workspaces/p/records.parquet", 50_000
	w, err := tables.Create(ctx, st, key, dek, tables.Modular, s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.Append([]string{fmt.Sprintf("P%d", i%997), "2024-03-02", "71.5", "CT", "a note", fmt.Sprint(1900 + i%100), "F", fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		got := 0
		_, err := tables.RecordsObject(ctx, st, key, dek, tables.Query{Columns: cols, Parallel: true}, func(rec arrow.Record) error {
			got += int(rec.NumRows())
			return nil
		})
		if err != nil || got != n {
			t.Fatalf("round %d: %d of %d rows: %v", round, got, n, err)
		}
	}
}

// TestIssue25_ParallelRowGroupsInOrder: a Parallel read of a table without
// modular encryption and of many row groups (decoded by several readers at
// once) gives every row once, in file order, through the envelope too;
// an error from the callback stops the read and is returned.
func TestIssue25_ParallelRowGroupsInOrder(t *testing.T) {
	ctx := context.Background()
	s, err := tables.NewSchema(tables.Field{Name: "pseudonym", Type: tables.String}, tables.Field{Name: "n", Type: tables.Int})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("P%d", i/3), fmt.Sprint(i)}
		if i%7 == 0 {
			rows[i][0] = "" // null
		}
	}
	data := write(t, s, tables.WriterOptions{GroupRows: 700}, rows)
	read := func(t *testing.T, fn func(int64) error) error {
		_, err := tables.Records(ctx, bytes.NewReader(data), tables.Query{Columns: []string{"n", "pseudonym"}, Parallel: true, BatchRows: 256}, func(rec arrow.Record) error {
			col := rec.Column(0).(*array.Int64)
			for i := range col.Len() {
				if p, want := tables.FormatValue(rec.Column(1), i), rows[col.Value(i)][0]; p != want || rec.Column(1).IsNull(i) != (want == "") {
					return fmt.Errorf("row %d: pseudonym %q, want %q", col.Value(i), p, want)
				}
				if err := fn(col.Value(i)); err != nil {
					return err
				}
			}
			return nil
		})
		return err
	}
	for round := range 5 {
		next := int64(0)
		if err := read(t, func(v int64) error {
			if v != next {
				return fmt.Errorf("row %d is %d", next, v)
			}
			next++
			return nil
		}); err != nil || next != n {
			t.Fatalf("round %d: %d of %d rows: %v", round, next, n, err)
		}
	}
	// A stored table under the envelope (the health store's tables):
	// three row groups of the default size, read concurrently.
	st := storetest.Local(t, t.TempDir())
	dek := keys.RandomSecret()
	w, err := tables.Create(ctx, st, "health/t.parquet", dek, tables.Envelope, s)
	if err != nil {
		t.Fatal(err)
	}
	const big = 150_000
	for i := range big {
		if err := w.Append([]string{"P", fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := int64(0)
	_, err = tables.RecordsObject(ctx, st, "health/t.parquet", dek, tables.Query{Columns: []string{"n"}, Parallel: true}, func(rec arrow.Record) error {
		col := rec.Column(0).(*array.Int64)
		for i := range col.Len() {
			if col.Value(i) != next {
				return fmt.Errorf("row %d is %d", next, col.Value(i))
			}
			next++
		}
		return nil
	})
	if err != nil || next != big {
		t.Fatalf("envelope: %d of %d rows: %v", next, big, err)
	}
	stop := errors.New("stop")
	seen := 0
	if err := read(t, func(int64) error {
		if seen++; seen == 5_000 {
			return stop
		}
		return nil
	}); !errors.Is(err, stop) || seen != 5_000 {
		t.Fatalf("stopped read: %v after %d rows", err, seen)
	}
}
