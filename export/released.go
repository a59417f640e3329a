package export

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"hdw/configs"
	"hdw/tables"
)

// Layout is the released file's table (issue 17): typed columns in
// dictionary order, a generalized column under a name of its own (a
// 10-year age band of birth_year is age_band_10y, never birth_year), and
// for each column the index of its values in the report's OutputColumns.
type Layout struct {
	Schema *tables.Schema
	From   []int
	ints   []bool // columns of integers
}

// ReleaseLayout returns the layout of a release of the columns out
// (Report.OutputColumns) under req's rules: a kept column has its
// dictionary type; an age band, a month, a quarter, a department, a region
// or a bin is a dictionary-encoded string, a year an integer; the export
// pseudonym comes last. A derived name already taken is prefixed with its
// column's name. dict may be nil (every kept column a string, the given
// order).
func ReleaseLayout(dict *configs.Dictionary, req Request, out []string) (Layout, error) {
	type col struct {
		f    tables.Field
		from int
		rank int
	}
	cols := make([]col, 0, len(out))
	taken := map[string]bool{}
	for i, c := range out {
		f := tables.Field{Name: c}
		rank := 1<<20 + i // not in the dictionary: after its columns, in request order
		if dict != nil {
			if dc, ok := dict.Lookup(c); ok {
				f.Type = tables.TypeOf(dc.Type)
				rank = slices.IndexFunc(dict.Columns, func(x configs.Column) bool { return x.Name == c })
			}
		}
		if c == ExportPseudonymColumn && req.ExportPseudonyms {
			f.Type, rank = tables.String, 1<<30
		} else if name, t, ok := derived(c, req.rule(c)); ok {
			f.Name, f.Type = name, t
			if name != c && (taken[name] || slices.Contains(out, name)) {
				f.Name = c + "_" + name
			}
		}
		taken[f.Name] = true
		cols = append(cols, col{f, i, rank})
	}
	slices.SortStableFunc(cols, func(a, b col) int { return cmp.Compare(a.rank, b.rank) })
	l := Layout{From: make([]int, len(cols)), ints: make([]bool, len(cols))}
	fs := make([]tables.Field, len(cols))
	for i, c := range cols {
		fs[i], l.From[i], l.ints[i] = c.f, c.from, c.f.Type == tables.Int
	}
	s, err := tables.NewSchema(fs...)
	if err != nil {
		return Layout{}, fmt.Errorf("%w: released columns: %v", ErrRequest, err)
	}
	l.Schema = s
	return l, nil
}

// derived returns the released name and type of column c generalized by
// r, ok false when r keeps the value as it is.
func derived(c string, r Rule) (name string, t tables.Type, ok bool) {
	width := strings.ReplaceAll(strconv.FormatFloat(r.Width, 'f', -1, 64), ".", "_")
	switch r.Kind {
	case "age-band":
		return "age_band_" + width + "y", tables.Enum, true
	case "date-month":
		return c + "_month", tables.Enum, true
	case "date-quarter":
		return c + "_quarter", tables.Enum, true
	case "date-year":
		return c + "_year", tables.Int, true
	case "postcode-department":
		return "department", tables.Enum, true
	case "postcode-region":
		return "region", tables.Enum, true
	case "bin":
		return c + "_bin_" + width, tables.Enum, true
	}
	return "", tables.String, false
}

// Columns returns the released column names, in the file's order.
func (l Layout) Columns() []string { return l.Schema.Columns() }

// row fills vals (the file's order) from a released row in OutputColumns
// order; a generalization's "*" (a value it could not read) is null in a
// column of numbers.
func (l Layout) row(vals, out []string) {
	for i, j := range l.From {
		v := out[j]
		if v == "*" && l.ints[i] {
			v = ""
		}
		vals[i] = v
	}
}
