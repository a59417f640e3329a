package tables

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"hdw/keys"
)

// TestRowGroupsBoundedByBytes (issue 9, issue 17): wide rows are flushed in
// row groups of about groupBytes of values, not held until groupRows rows,
// and every row reads back.
func TestRowGroupsBoundedByBytes(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Strings([]string{"id", "notes"}), WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	note := strings.Repeat("n", 1000)
	const rows = 3000 // about 3 MB of values: three row groups or more
	for i := 0; i < rows; i++ {
		if err := w.Append([]string{fmt.Sprint(i), note}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fr, err := open(bytes.NewReader(buf.Bytes()), keys.Secret{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := fr.ParquetReader().NumRowGroups(); n < 3 {
		t.Errorf("%d row groups for %d rows of 1 KB, want >= 3 (groupBytes %d)", n, rows, groupBytes)
	}
	got := 0
	if _, err := ScanBytes(context.Background(), buf.Bytes(), Query{}, func(r *Row) error {
		if r.Get("id") != fmt.Sprint(got) || r.Get("notes") != note {
			return fmt.Errorf("row %d read back wrong", got)
		}
		got++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != rows {
		t.Errorf("read %d rows, want %d", got, rows)
	}
}
