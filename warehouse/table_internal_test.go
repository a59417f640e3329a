package warehouse

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
)

// TestRowGroupsBoundedByBytes (issue 9): wide rows are flushed in row
// groups of about rowGroupBytes of values, not held until 8,192 rows, and
// every row reads back.
func TestRowGroupsBoundedByBytes(t *testing.T) {
	var buf bytes.Buffer
	w := NewTableWriter(&buf, []string{"id", "notes"})
	note := strings.Repeat("n", 1000)
	const rows = 3000 // about 3 MB of values: three row groups or more
	for i := 0; i < rows; i++ {
		if err := w.Write([]string{fmt.Sprint(i), note}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.RowGroups()); n < 3 {
		t.Errorf("%d row groups for %d rows of 1 KB, want >= 3 (rowGroupBytes %d)", n, rows, rowGroupBytes)
	}
	got := 0
	if _, err := ReadTable(buf.Bytes(), func(row map[string]string) error {
		if row["id"] != fmt.Sprint(got) || row["notes"] != note {
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

// TestTableZstdStandard: the writers' low-memory zstd codec writes ordinary
// zstd frames, which any decoder reads, and reuses its encoders.
func TestTableZstdStandard(t *testing.T) {
	src := bytes.Repeat([]byte("hdw table page "), 50000)
	var out []byte
	for i := 0; i < 10; i++ {
		var err error
		if out, err = tableZstd.Encode(out, src); err != nil {
			t.Fatal(err)
		}
	}
	d, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	back, err := d.DecodeAll(out, nil)
	if err != nil || !bytes.Equal(back, src) {
		t.Fatalf("standard decoder: %v, equal %v", err, bytes.Equal(back, src))
	}
	if allocs := testing.AllocsPerRun(20, func() { out, _ = tableZstd.Encode(out, src) }); allocs > 2 {
		t.Errorf("%.0f allocations per page, want the encoders reused", allocs)
	}
}
