package warehouse_test

import (
	"bytes"
	"context"
	"testing"

	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/warehouse"
)

// ReadTable gives the rows of a table written by package tables as strings.
func TestTableRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	tw, err := tables.NewWriter(&buf, tables.Strings([]string{"zeta", "alpha", "mid"}), tables.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tw.Append([]string{"z1", "", "m1"})
	tw.AppendMap(map[string]string{"alpha": "a2"})
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var got []map[string]string
	cols, err := warehouse.ReadTable(buf.Bytes(), func(r map[string]string) error {
		c := map[string]string{}
		for k, v := range r {
			c[k] = v
		}
		got = append(got, c)
		return nil
	})
	if err != nil || len(cols) != 3 || len(got) != 2 {
		t.Fatalf("%v %v %v", err, cols, got)
	}
	if got[0]["zeta"] != "z1" || got[0]["mid"] != "m1" || got[0]["alpha"] != "" || got[1]["alpha"] != "a2" {
		t.Fatalf("rows %v", got)
	}
}

func TestEncryptedTable(t *testing.T) {
	ctx := context.Background()
	st, _ := objstore.NewLocal(t.TempDir())
	dek := keys.RandomSecret()
	rows := []map[string]string{{"p": "x", "v": "secretvalue"}}
	if err := warehouse.WriteEncryptedTable(ctx, st, "health/t.parquet", dek, []string{"p", "v"}, rows); err != nil {
		t.Fatal(err)
	}
	r, _ := st.Open(ctx, "health/t.parquet")
	var raw bytes.Buffer
	raw.ReadFrom(r)
	r.Close()
	if bytes.Contains(raw.Bytes(), []byte("secretvalue")) || bytes.Contains(raw.Bytes(), []byte("PAR1")) {
		t.Fatal("SEC-LOG-2: table must be encrypted at rest")
	}
	n := 0
	if _, err := warehouse.ReadEncryptedTable(ctx, st, "health/t.parquet", dek, func(m map[string]string) error {
		if m["v"] == "secretvalue" {
			n++
		}
		return nil
	}); err != nil || n != 1 {
		t.Fatal(err, n)
	}
}
