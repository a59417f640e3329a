package indicators

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
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

// column kinds of the Parquet table
const (
	kString = iota
	kDouble
	kInt
)

func kindOf(col string, nGroup int, i int) int {
	if i < nGroup {
		return kString
	}
	switch col {
	case "rank", "value", "ci_lower", "ci_upper", "confidence_level", "epsilon", "delta":
		return kDouble
	case "max_groups_per_person", "max_rows_per_group", "min_persons":
		return kInt
	}
	return kString
}

// WriteParquet writes r as a typed Parquet table: group labels and noise
// kind as UTF-8 strings, values, intervals and epsilons as doubles, bounds
// as int64; every column optional (an empty cell is null).
func WriteParquet(w io.Writer, r *Result) error {
	cols := TableColumns(r)
	ng := len(r.GroupBy)
	g := parquet.Group{}
	for i, c := range cols {
		switch kindOf(c, ng, i) {
		case kDouble:
			g[c] = parquet.Optional(parquet.Leaf(parquet.DoubleType))
		case kInt:
			g[c] = parquet.Optional(parquet.Int(64))
		default:
			g[c] = parquet.Optional(parquet.String())
		}
	}
	schema := parquet.NewSchema("indicator", g)
	sorted := append([]string(nil), cols...)
	sort.Strings(sorted)
	leaf := map[string]int{}
	for i, c := range sorted {
		leaf[c] = i
	}
	//lint:ignore SA1019 the untyped row writer writes a schema built at run time
	pw := parquet.NewWriter(w, schema)
	row := make(parquet.Row, len(cols))
	for _, v := range r.Values {
		for i, s := range cells(r, v) {
			li := leaf[cols[i]]
			if s == "" {
				row[li] = parquet.Value{}.Level(0, 0, li)
				continue
			}
			switch kindOf(cols[i], ng, i) {
			case kDouble:
				f, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return fmt.Errorf("indicators: column %s: %w", cols[i], err)
				}
				row[li] = parquet.DoubleValue(f).Level(0, 1, li)
			case kInt:
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return fmt.Errorf("indicators: column %s: %w", cols[i], err)
				}
				row[li] = parquet.Int64Value(n).Level(0, 1, li)
			default:
				row[li] = parquet.ByteArrayValue([]byte(s)).Level(0, 1, li)
			}
		}
		if _, err := pw.WriteRows([]parquet.Row{row}); err != nil {
			return err
		}
	}
	return pw.Close()
}
