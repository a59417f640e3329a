package pipeline

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"hdw/configs"
	"hdw/masking"
	"hdw/objstore"
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
}

// MaxManifestBytes bounds the manifest size.
const MaxManifestBytes = 1 << 30

// ValidateHeader checks every column against the dictionary (3.2.2.1).
func ValidateHeader(file string, cols []string, dict *configs.Dictionary) (*Header, error) {
	h := &Header{File: file, dict: dict}
	seen := map[string]bool{}
	for i, c := range cols {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(c, "\ufeff")))
		if name == "" {
			return nil, &ManifestError{File: file, Reason: fmt.Sprintf("header column %d is empty", i+1)}
		}
		col, ok := dict.Lookup(name)
		if !ok {
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

// lineLimiter fails when a single line exceeds max bytes (bounds CSV records).
type lineLimiter struct {
	r   *bufio.Reader
	max int
	cur int
}

var errLineTooLong = errors.New("line too long")

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			l.cur = 0
			continue
		}
		l.cur++
		if l.cur > l.max {
			return i, errLineTooLong
		}
	}
	return n, err
}

// ReadCSV streams a CSV manifest: the header is validated first (a
// *ManifestError stops everything), then fn receives each row or its
// *RowError. maxLine bounds one line.
func ReadCSV(r io.Reader, file string, dict *configs.Dictionary, maxLine int, fn func(*Row, error) error) error {
	if maxLine <= 0 {
		maxLine = 64 << 10
	}
	cr := csv.NewReader(&lineLimiter{r: bufio.NewReader(io.LimitReader(r, MaxManifestBytes)), max: maxLine})
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return &ManifestError{File: file, Reason: "cannot read the header row: " + csvReason(err)}
	}
	h, err := ValidateHeader(file, append([]string(nil), head...), dict)
	if err != nil {
		return err
	}
	return h.readRows(cr, fn)
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	if errors.Is(err, errLineTooLong) {
		return "a line is longer than the limit"
	}
	if errors.Is(err, objstore.ErrChanged) {
		return "the manifest was replaced during the ingest; nothing was committed, rerun the ingest"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "not a readable UTF-8 CSV file"
	}
	return "reading it failed (I/O error); nothing was committed, rerun the ingest"
}

func (h *Header) readRows(cr *csv.Reader, fn func(*Row, error) error) error {
	files := map[string]int{}
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				return &ManifestError{File: h.File, Reason: fmt.Sprintf("row %d is longer than the line limit; the rest of the manifest cannot be read", n)}
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount) {
				if ferr := fn(nil, &RowError{File: h.File, Row: n, Reason: "malformed CSV: " + csvReason(err)}); ferr != nil {
					return ferr
				}
				continue
			}
			return &ManifestError{File: h.File, Reason: csvReason(err)}
		}
		row, perr := h.ParseRow(n, rec)
		if perr == nil && row.File() != "" {
			if first, dup := files[row.File()]; dup {
				perr = &RowError{File: h.File, Row: n, Column: "file", Reason: fmt.Sprintf("same file as row %d; each image has one row", first), path: ""}
				row = nil
			} else {
				files[strings.Clone(row.File())] = n // a clone: the row's values are not held
			}
		}
		if err := fn(row, perr); err != nil {
			return err
		}
	}
}

// ReadParquet reads a Parquet manifest with the same columns (values
// converted to text). The file is read into memory (bounded).
func ReadParquet(r io.Reader, file string, dict *configs.Dictionary, fn func(*Row, error) error) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestBytes+1))
	if err != nil {
		return &ManifestError{File: file, Reason: "cannot read"}
	}
	if len(data) > MaxManifestBytes {
		return &ManifestError{File: file, Reason: "larger than 1 GiB"}
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return &ManifestError{File: file, Reason: "not a readable Parquet file"}
	}
	var cols []string
	for _, c := range f.Schema().Columns() {
		cols = append(cols, c[len(c)-1])
	}
	h, err := ValidateHeader(file, cols, dict)
	if err != nil {
		return err
	}
	files := map[string]int{}
	buf := make([]parquet.Row, 128)
	raw := make([]string, len(cols))
	n := 0
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		for {
			k, rerr := rr.ReadRows(buf)
			for _, pr := range buf[:k] {
				n++
				clear(raw)
				for _, v := range pr {
					if c := v.Column(); c >= 0 && c < len(raw) && !v.IsNull() {
						if v.Kind() == parquet.ByteArray || v.Kind() == parquet.FixedLenByteArray {
							raw[c] = string(v.ByteArray())
						} else {
							raw[c] = v.String()
						}
					}
				}
				row, perr := h.ParseRow(n, raw)
				if perr == nil && row.File() != "" {
					if first, dup := files[row.File()]; dup {
						perr = &RowError{File: file, Row: n, Column: "file", Reason: fmt.Sprintf("same file as row %d; each image has one row", first)}
						row = nil
					} else {
						files[strings.Clone(row.File())] = n // a clone: the row's values are not held
					}
				}
				if err := fn(row, perr); err != nil {
					rr.Close()
					return err
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rr.Close()
				return &ManifestError{File: file, Reason: "corrupt Parquet data"}
			}
		}
		rr.Close()
	}
	return nil
}
