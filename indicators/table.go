package indicators

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"hdw/tables"
)

// Columns of a result table besides the grouping columns (named after
// group_by, ':' replaced by '_'): typed, and carrying the noise parameters
// on every row so that a reader of the table alone knows how it was made.
var fixedColumns = []string{"bucket", "rank", "value", "ci_lower", "ci_upper", "confidence_level",
	"noise", "epsilon", "delta", "max_groups_per_person", "max_rows_per_group", "min_persons"}

func groupColumns(r *Result) []string {
	out := make([]string, len(r.GroupBy))
	for i, g := range r.GroupBy {
		out[i] = strings.ReplaceAll(g, ":", "_")
	}
	return out
}

// TableColumns returns the columns of r's table, in order.
func TableColumns(r *Result) []string {
	return append(groupColumns(r), fixedColumns...)
}

func fnum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// cells returns one value's cells as strings, aligned with TableColumns
// ("" for none).
func cells(r *Result, v Value) []string {
	out := make([]string, 0, len(r.GroupBy)+len(fixedColumns))
	for i := range r.GroupBy {
		s := ""
		if i < len(v.Group) {
			s = v.Group[i]
		}
		out = append(out, s)
	}
	rank, lo, hi := "", "", ""
	if r.Measure == Quantiles {
		rank = fnum(v.Rank)
	}
	if v.Lower != nil {
		lo, hi = fnum(*v.Lower), fnum(*v.Upper)
	}
	p := r.Params
	return append(out, v.Bucket, rank, fnum(v.Value), lo, hi, fnum(p.ConfidenceLevel), p.Noise, fnum(p.Epsilon), fnum(p.Delta),
		strconv.FormatInt(p.MaxGroupsPerPerson, 10), strconv.FormatInt(p.MaxRowsPerGroup, 10), strconv.FormatInt(p.MinPersons, 10))
}

// WriteCSV writes r as CSV with a header row.
func WriteCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(TableColumns(r)); err != nil {
		return err
	}
	for _, v := range r.Values {
		if err := cw.Write(cells(r, v)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// schema returns the typed schema of r's table: group labels and the
// noise kind as dictionary-encoded strings (a bucket as a string), values,
// intervals and epsilons as doubles, bounds as int64.
func schema(r *Result) (*tables.Schema, error) {
	var fs []tables.Field
	ng := len(r.GroupBy)
	for i, c := range TableColumns(r) {
		t := tables.Enum
		if i >= ng {
			switch c {
			case "rank", "value", "ci_lower", "ci_upper", "confidence_level", "epsilon", "delta":
				t = tables.Float
			case "max_groups_per_person", "max_rows_per_group", "min_persons":
				t = tables.Int
			}
		}
		fs = append(fs, tables.Field{Name: c, Type: t})
	}
	return tables.NewSchema(fs...)
}

// WriteParquet writes r as a typed Parquet table through the warehouse's
// one table layer (package tables); every column is nullable (an empty
// cell is null).
func WriteParquet(w io.Writer, r *Result) error {
	s, err := schema(r)
	if err != nil {
		return fmt.Errorf("indicators: table: %w", err)
	}
	// Only Write is passed on: the Parquet writer closes a sink that is an
	// io.Closer, and w is the caller's to close.
	tw, err := tables.NewWriter(struct{ io.Writer }{w}, s, tables.WriterOptions{})
	if err != nil {
		return err
	}
	for _, v := range r.Values {
		if err := tw.Append(cells(r, v)); err != nil {
			return fmt.Errorf("indicators: table: %w", err)
		}
	}
	return tw.Close()
}
