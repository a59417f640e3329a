// Reading a manifest: CSV (encoding, delimiter, line bounds) and Parquet,
// streamed row by row to the validation of manifest.go.

package pipeline

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"

	"hdw/configs"
	"hdw/objstore"
)

// lineLimiter bounds each physical line to max bytes: the bytes beyond are
// dropped (never buffered) up to the line's end, and the line's number is
// recorded, so that the row holding it is rejected alone and the rest of
// the manifest is read.
type lineLimiter struct {
	r    io.Reader
	max  int
	cur  int
	line int          // current line, 1-based
	long map[int]bool // lines cut
	inQ  bool         // inside a quoted field (as far as the kept bytes go)
	buf  []byte
	out  []byte // converted bytes not yet returned
	err  error  // the reader's error, returned once out is drained
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		if l.buf == nil {
			l.buf = make([]byte, 32<<10)
		}
		n, err := l.r.Read(l.buf)
		out := l.out[:0]
		for _, c := range l.buf[:n] {
			if c == '\n' {
				if l.long[l.line] && l.inQ {
					// A cut line that left a quote open gets it closed,
					// so that its record ends with its line.
					out = append(out, '"')
					l.inQ = false
				}
				l.cur = 0
				l.line++
				out = append(out, c)
				continue
			}
			l.cur++
			if l.cur > l.max {
				l.long[l.line] = true
				continue
			}
			if c == '"' {
				l.inQ = !l.inQ
			}
			out = append(out, c)
		}
		l.out, l.err = out, err
	}
	k := copy(p, l.out)
	l.out = l.out[k:]
	return k, nil
}

// CSVOptions configure the reading of a CSV manifest.
type CSVOptions struct {
	Encoding  string // utf-8 (default), latin-1 or windows-1252 (NormalizeEncoding)
	Delimiter rune   // ',', ';' or '\t'; 0: detected from the header line
	MaxLine   int    // bytes of one line (default 64 KiB); a longer row is rejected alone
}

// ReadCSV streams a CSV manifest: the header is validated first (a
// *ManifestError stops everything), then fn receives each row or its
// *RowError. maxLine bounds one line.
func ReadCSV(r io.Reader, file string, dict *configs.Dictionary, maxLine int, fn func(*Row, error) error) error {
	return ReadCSVWith(r, file, dict, CSVOptions{MaxLine: maxLine}, fn)
}

// ReadCSVWith is ReadCSV with an encoding and a delimiter (issue 23:
// manifests as they come).
func ReadCSVWith(r io.Reader, file string, dict *configs.Dictionary, o CSVOptions, fn func(*Row, error) error) error {
	if o.MaxLine <= 0 {
		o.MaxLine = 64 << 10
	}
	enc, err := NormalizeEncoding(o.Encoding)
	if err != nil {
		return &ManifestError{File: file, Reason: err.Error()}
	}
	ll := &lineLimiter{r: decodeManifest(io.LimitReader(r, MaxManifestBytes), enc), max: o.MaxLine, line: 1, long: map[int]bool{}}
	br := bufio.NewReaderSize(ll, 64<<10)
	delim := o.Delimiter
	if delim == 0 {
		delim = detectDelimiter(br, 64<<10)
	}
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return &ManifestError{File: file, Reason: "cannot read the header row: " + csvReason(err)}
	}
	if ll.long[1] {
		return &ManifestError{File: file, Reason: "the header row is longer than the line limit"}
	}
	for i, c := range head {
		if reason := checkText(c, enc); reason != "" {
			return &ManifestError{File: file, Reason: fmt.Sprintf("header column %d: %s", i+1, reason)}
		}
	}
	h, err := ValidateHeader(file, append([]string(nil), head...), dict)
	if err != nil {
		return err
	}
	h.enc, h.long = enc, ll.long
	return h.readRows(cr, fn)
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d column %d: %v", pe.Line, pe.Column, pe.Err)
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
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount) {
				reason := "malformed CSV: " + csvReason(err)
				for l := pe.StartLine; l <= pe.Line; l++ {
					if h.long[l] {
						delete(h.long, l)
						reason = "longer than the line limit of the manifest (ingest: 64 KiB by default); split or shorten it"
					}
				}
				if ferr := fn(nil, &RowError{File: h.File, Row: n, Reason: reason}); ferr != nil {
					return ferr
				}
				continue
			}
			return &ManifestError{File: h.File, Reason: csvReason(err)}
		}
		var row *Row
		var perr error
		if reason := h.rawReason(cr, rec); reason != "" {
			perr = &RowError{File: h.File, Row: n, Reason: reason}
		} else {
			row, perr = h.ParseRow(n, rec)
		}
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
	h.enc = EncodingUTF8
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
				var row *Row
				var perr error
				if reason := h.rawReason(nil, raw); reason != "" {
					perr = &RowError{File: file, Row: n, Reason: reason}
				} else {
					row, perr = h.ParseRow(n, raw)
				}
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
