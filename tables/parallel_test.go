package tables_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/keys"
	"hdw/objstore"
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
	st, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
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
