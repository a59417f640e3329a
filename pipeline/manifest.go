package pipeline

import (
	"encoding/csv"
	"errors"
	"fmt"
	"iter"
	"path"
	"slices"
	"strconv"
	"strings"

	"hdw/configs"
	"hdw/masking"
	"hdw/pseudo"
)

// ManifestError rejects a whole manifest (bad header, unreadable file).
type ManifestError struct {
	File   string
	Column string
	Reason string
}

func (e *ManifestError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("%s: column %q: %s", e.File, e.Column, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

// RowError rejects one row. It names the file, the row (1 = first data row;
// the CSV line is Row+1) and the column, never the value.
type RowError struct {
	File   string
	Row    int
	Column string
	Reason string
	path   string // the row's file column, to pair the rejected row with its image; never printed
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s row %d: %s", e.File, e.Row, e.Reason)
	}
	return fmt.Sprintf("%s row %d column %s: %s", e.File, e.Row, e.Column, e.Reason)
}

// Row is one validated manifest row. Values holds the cleaned non-empty
// values by lower-case column name.
type Row struct {
	N      int
	Values Fields
	Boxes  []masking.Box
	Basis  string // pseudonym basis ("NIR:..." / "ID:..."), or "" for imports
}

// Fields are a row's non-empty values by lower-case column name. Every row
// of a manifest is held during an ingest, so a row keeps its values packed
// in one string with their end offsets and shares the column names with
// its header: about a third of a map per row. Rows have a few dozen
// columns, so a linear lookup is as fast.
type Fields struct {
	names []string // the header's columns, shared
	data  string   // the values, concatenated
	end   []uint32 // end of value i in data
}

// NewFields packs values (aligned with names, "" for none).
func NewFields(names, values []string) Fields {
	n := 0
	for _, v := range values {
		n += len(v)
	}
	var b strings.Builder
	b.Grow(n)
	end := make([]uint32, len(values))
	for i, v := range values {
		b.WriteString(v)
		end[i] = uint32(b.Len())
	}
	return Fields{names: names, data: b.String(), end: end}
}

// Get returns the value of column name, or "".
func (f Fields) Get(name string) string {
	for i, c := range f.names {
		if c == name && i < len(f.end) {
			return f.at(i)
		}
	}
	return ""
}

func (f Fields) at(i int) string {
	start := uint32(0)
	if i > 0 {
		start = f.end[i-1]
	}
	return f.data[start:f.end[i]]
}

// All yields the non-empty values with their column names, in column order.
func (f Fields) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i := range f.end {
			if v := f.at(i); v != "" && !yield(f.names[i], v) {
				return
			}
		}
	}
}

// File returns the row's image path ("" for a record without image).
func (r *Row) File() string { return r.Values.Get("file") }

// Header is a validated manifest header.
type Header struct {
	File    string
	Columns []string // lower-case
	dict    *configs.Dictionary
	enc     string       // CSV: the manifest's encoding (after conversion, UTF-8 is checked)
	long    map[int]bool // CSV: physical lines cut by the line limit
}

// rawReason checks a raw CSV record before parsing: a line over the limit,
// a value that is not UTF-8 or holds a control character. The row is
// rejected alone; the reason names the column, never the value.
func (h *Header) rawReason(cr *csv.Reader, rec []string) string {
	if len(h.long) > 0 {
		first, _ := cr.FieldPos(0)
		last, _ := cr.FieldPos(len(rec) - 1)
		for l := first; l <= last+1; l++ {
			if h.long[l] {
				delete(h.long, l)
				if l <= last {
					return "longer than the line limit of the manifest (ingest: 64 KiB by default); split or shorten it"
				}
			}
		}
	}
	for i, v := range rec {
		if reason := checkText(v, h.enc); reason != "" {
			if i < len(h.Columns) {
				return "column " + h.Columns[i] + ": " + reason
			}
			return reason
		}
	}
	return ""
}

// MaxManifestBytes bounds the manifest size.
const MaxManifestBytes = 1 << 30

// ValidateHeader checks every column against the dictionary (3.2.2.1).
func ValidateHeader(file string, cols []string, dict *configs.Dictionary) (*Header, error) {
	h := &Header{File: file, dict: dict}
	known := 0
	for _, c := range cols {
		if _, ok := dict.Lookup(strings.ToLower(strings.TrimSpace(strings.TrimPrefix(c, "\ufeff")))); ok {
			known++
		}
	}
	if known == 0 && len(cols) > 0 {
		// The first row is not a header: it is data, never quoted.
		return nil, &ManifestError{File: file, Reason: fmt.Sprintf("the first row is not a header (none of its %d values is a column of the data dictionary): add the header row (file, nir, last_name, ...) and check the delimiter (--delimiter)", len(cols))}
	}
	seen := map[string]bool{}
	for i, c := range cols {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(c, "\ufeff")))
		if name == "" {
			return nil, &ManifestError{File: file, Reason: fmt.Sprintf("header column %d is empty", i+1)}
		}
		col, ok := dict.Lookup(name)
		if !ok {
			if !columnLike(name) {
				return nil, &ManifestError{File: file, Reason: fmt.Sprintf("header column %d is not in the data dictionary (configs/dictionary.yaml); remove the column or declare it", i+1)}
			}
			return nil, &ManifestError{File: file, Column: name, Reason: "not in the data dictionary (configs/dictionary.yaml); remove the column or declare it"}
		}
		if col.Category == configs.CatDerived {
			return nil, &ManifestError{File: file, Column: name, Reason: "is derived by hdw and cannot be uploaded"}
		}
		if seen[name] {
			return nil, &ManifestError{File: file, Column: name, Reason: "appears twice in the header"}
		}
		seen[name] = true
		h.Columns = append(h.Columns, name)
	}
	if !seen["file"] {
		return nil, &ManifestError{File: file, Column: "file", Reason: "missing; the manifest needs a file column (may be empty for records without image)"}
	}
	return h, nil
}

// columnLike reports whether a header cell looks like a column name (quoted
// in messages); anything else is named by its position only.
func columnLike(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || (i > 0 && r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// ParseRow validates one raw row (aligned with the header columns).
func (h *Header) ParseRow(n int, raw []string) (*Row, error) {
	var fpath string
	for i, c := range h.Columns {
		if c == "file" && i < len(raw) {
			fpath = path.Clean(strings.ReplaceAll(strings.TrimSpace(raw[i]), "\\", "/"))
			if strings.TrimSpace(raw[i]) == "" {
				fpath = ""
			}
		}
	}
	rerr := func(col, reason string) error {
		return &RowError{File: h.File, Row: n, Column: col, Reason: reason, path: fpath}
	}
	if len(raw) != len(h.Columns) {
		return nil, rerr("", fmt.Sprintf("has %d fields, the header has %d", len(raw), len(h.Columns)))
	}
	r := &Row{N: n}
	vals := make([]string, len(raw))
	for i, v := range raw {
		name := h.Columns[i]
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		col, _ := h.dict.Lookup(name)
		switch col.Type {
		case "nir":
			c := pseudo.CleanNIR(v)
			if err := pseudo.ValidateNIR(c); err != nil {
				return nil, rerr(name, err.Error()+"; correct it or leave it empty and give last name, first name, birth date and sex")
			}
			v = c
		case "date":
			if _, err := pseudo.ParseDate(v); err != nil {
				return nil, rerr(name, "date must be YYYY-MM-DD")
			}
		case "sex":
			s, err := pseudo.NormalizeSex(v)
			if err != nil {
				return nil, rerr(name, "unknown sex code; use M, F or U")
			}
			v = s
		case "int":
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return nil, rerr(name, "must be a whole number")
			}
		case "float":
			f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
			if err != nil {
				return nil, rerr(name, "must be a number")
			}
			v = strconv.FormatFloat(f, 'f', -1, 64)
		case "enum":
			idx := slices.IndexFunc(col.Values, func(a string) bool { return strings.EqualFold(a, v) })
			if idx < 0 {
				return nil, rerr(name, "value not allowed by the data dictionary (allowed: "+strings.Join(col.Values, ", ")+")")
			}
			v = col.Values[idx]
		case "path":
			c := path.Clean(strings.ReplaceAll(v, "\\", "/"))
			if strings.HasPrefix(c, "/") || c == ".." || strings.HasPrefix(c, "../") {
				return nil, rerr(name, "must be a path relative to the upload folder")
			}
			v = c
		case "boxes":
			b, err := ParseBoxes(v)
			if err != nil {
				return nil, rerr(name, err.Error())
			}
			r.Boxes = b
		}
		vals[i] = v
	}
	r.Values = NewFields(h.Columns, vals)
	id := pseudo.Identity{NIR: r.Values.Get("nir"), LastName: r.Values.Get("birth_name"), FirstName: r.Values.Get("first_name"),
		BirthDate: r.Values.Get("birth_date"), Sex: r.Values.Get("sex")}
	if id.LastName == "" {
		id.LastName = r.Values.Get("last_name")
	}
	basis, err := pseudo.Basis(id)
	switch {
	case err == nil:
		r.Basis = basis
	case r.Values.Get("source_pseudonym") != "" && r.Values.Get("source_name") != "":
		// SEC-PSE-2: a pseudonymized import without identity.
	case errors.Is(err, pseudo.ErrMissingField):
		return nil, rerr("", "no person: give the nir, or last name, first name, birth date and sex, or source_name and source_pseudonym")
	default:
		return nil, rerr("", err.Error())
	}
	return r, nil
}

// ParseBoxes parses "x0:y0:x1:y1;x0:y0:x1:y1".
func ParseBoxes(s string) ([]masking.Box, error) {
	var out []masking.Box
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Split(part, ":")
		if len(f) != 4 {
			return nil, errors.New("boxes must be x0:y0:x1:y1 separated by ';'")
		}
		var v [4]int
		for i, x := range f {
			n, err := strconv.Atoi(strings.TrimSpace(x))
			if err != nil || n < 0 || n > 1<<20 {
				return nil, errors.New("box coordinates must be whole numbers between 0 and 1048576")
			}
			v[i] = n
		}
		if v[0] >= v[2] || v[1] >= v[3] {
			return nil, errors.New("box must have x0 < x1 and y0 < y1")
		}
		out = append(out, masking.Box{X0: v[0], Y0: v[1], X1: v[2], Y1: v[3]})
	}
	if len(out) > 64 {
		return nil, errors.New("at most 64 boxes per row")
	}
	return out, nil
}
