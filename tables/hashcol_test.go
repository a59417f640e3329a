package tables_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"hdw/tables"
)

// Issue 25: RecordsHashed gives the same rows as Records, the person
// column as the keyed hash of each value (0 for a null), the enums as
// dictionaries or strings with the same values: through the page decoders
// (a Parallel read of several row groups), through pqarrow (one reader),
// and for an enum whose dictionary overflows into plain pages (read as
// strings).
func TestIssue25_RecordsHashedLikeStrings(t *testing.T) {
	ctx := context.Background()
	s, err := tables.NewSchema(tables.Field{Name: "pseudonym", Type: tables.String}, tables.Field{Name: "department", Type: tables.Enum},
		tables.Field{Name: "modality", Type: tables.Enum}, tables.Field{Name: "code", Type: tables.Enum}, tables.Field{Name: "n", Type: tables.Int})
	if err != nil {
		t.Fatal(err)
	}
	const n = 45_000
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("P%d", i/3), fmt.Sprintf("%02d", i%95), []string{"CT", "MR", ""}[i%3],
			fmt.Sprintf("a-long-code-that-fills-the-dictionary-%08d", i), strconv.Itoa(i)}
		if i%11 == 0 {
			rows[i][0] = "" // no person: null
		}
	}
	data := write(t, s, tables.WriterOptions{GroupRows: 30_000}, rows)
	seed := maphash.MakeSeed()
	cols := []string{"pseudonym", "department", "modality", "code", "n"}
	for _, par := range []bool{true, false} {
		got, dicts := 0, 0
		_, err := tables.RecordsHashed(ctx, bytes.NewReader(data), tables.Query{Columns: cols, Parallel: par, BatchRows: 1000}, "pseudonym", seed, func(rec arrow.Record) error {
			hs, ok := rec.Column(0).(*array.Uint64)
			if !ok {
				return fmt.Errorf("person column %s, want uint64", rec.Column(0).DataType())
			}
			for i := range hs.Len() {
				r := rows[rec.Column(4).(*array.Int64).Value(i)]
				if want := tables.HashValue(seed, []byte(r[0])); hs.Value(i) != want || hs.IsNull(i) {
					return fmt.Errorf("row %s: hash %x, want %x", r[4], hs.Value(i), want)
				}
				for j := 1; j < 4; j++ {
					if v := tables.FormatValue(rec.Column(j), i); v != r[j] || rec.Column(j).IsNull(i) != (r[j] == "") {
						return fmt.Errorf("row %s column %s: %q, want %q", r[4], cols[j], v, r[j])
					}
				}
				got++
			}
			if _, ok := rec.Column(1).(*array.Dictionary); ok {
				dicts++
			}
			return nil
		})
		if err != nil || got != n {
			t.Fatalf("parallel %v: %d of %d rows: %v", par, got, n, err)
		}
		if par && dicts == 0 {
			t.Errorf("parallel read: no enum read as a dictionary")
		}
	}
}
