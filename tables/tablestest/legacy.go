// Package tablestest holds test helpers of package tables: a writer of the
// table layout hdw wrote before issue 17, to build fixture warehouses in
// that format.
package tablestest

import (
	"bytes"

	"github.com/parquet-go/parquet-go"
)

// Legacy returns a table as hdw's warehouse.TableWriter wrote it before
// issue 17 (parquet-go): every column an optional UTF-8 string, columns in
// alphabetical order, "" written as null.
func Legacy(cols []string, rows [][]string) ([]byte, error) {
	g := parquet.Group{}
	for _, c := range cols {
		g[c] = parquet.Optional(parquet.String())
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[map[string]any](&buf, parquet.NewSchema("hdw", g))
	for _, r := range rows {
		m := map[string]any{}
		for i, c := range cols {
			if r[i] != "" {
				m[c] = r[i]
			}
		}
		if _, err := w.Write([]map[string]any{m}); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
