package tables

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"hdw/keys"
)

// ErrTable is wrapped by errors about malformed or unreadable tables.
var ErrTable = errors.New("tables: malformed table")

// ValueError is a value that does not parse as its column's type. It names
// the row (1-based, in the order written) and the column, never the value.
type ValueError struct {
	Row    int64
	Column string
	Type   Type
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("tables: row %d, column %s: value is not a valid %s", e.Row, e.Column, e.Type)
}

// Bounds of one row group: a row group is held in memory until written, so
// its rows and value bytes are both capped (issue 9: an ingest's memory
// must not grow with its size).
const (
	groupRows  = 64 << 10
	groupBytes = 1 << 20
)

// FooterKeyMetadata is the footer key metadata of a modular-encrypted
// table: the key material format of Parquet's key tools (what pyarrow's
// CryptoFactory parses) naming the master key "hdw-workspace", with no
// wrapped key in it: the reader's KMS client answers with the workspace
// data key itself (README, researcher section). DuckDB ignores it.
const FooterKeyMetadata = `{"keyMaterialType":"PKMT1","internalStorage":true,"isFooterKey":true,` +
	`"kmsInstanceID":"DEFAULT","kmsInstanceURL":"DEFAULT","masterKeyID":"hdw-workspace","wrappedDEK":"","doubleWrapping":false}`

// PersonColumn is the column of a table that names each row's person (the
// pseudonym): the [Writer] stores it dictionary-encoded.
const PersonColumn = "pseudonym"

// personLevel is the zstd level of the person column's pages (klauspost's
// SpeedDefault; the other columns are written at level 1, SpeedFastest).
const personLevel = 3

// WriterOptions tunes a [Writer].
type WriterOptions struct {
	// Key, when set, encrypts the file with Parquet modular encryption:
	// AES-GCM, encrypted footer, every column under this key (32 bytes).
	Key keys.Secret
	// GroupRows caps the rows of a row group (default 65,536).
	GroupRows int
}

// Writer appends rows to a Parquet table. Memory is bounded by one row
// group. Close writes the footer; it never closes the underlying writer,
// which the caller owns.
type Writer struct {
	s        *Schema
	fw       *pqarrow.FileWriter
	rb       *array.RecordBuilder
	rows     int64
	pending  int
	buffered int
	max      int
	vals     []string
}

func writerProps(opt WriterOptions) []parquet.WriterProperty {
	p := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(1),
		parquet.WithDictionaryDefault(false),
		parquet.WithMaxRowGroupLength(groupRows),
		parquet.WithCreatedBy("hdw"),
	}
	if opt.Key.Len() > 0 {
		p = append(p, parquet.WithEncryptionProperties(parquet.NewFileEncryptionProperties(string(opt.Key.Bytes()),
			parquet.WithAlg(parquet.AesGcm), parquet.WithFooterKeyMetadata(FooterKeyMetadata))))
	}
	return p
}

// writeOnly hides Close: pqarrow closes a sink that is an io.Closer, and
// the caller owns w (an encrypting writer publishes on its own Close).
type writeOnly struct{ w io.Writer }

func (o writeOnly) Write(p []byte) (int, error) { return o.w.Write(p) }

// NewWriter returns a writer of s to w.
func NewWriter(w io.Writer, s *Schema, opt WriterOptions) (*Writer, error) {
	return newWriter(w, s, opt, true)
}

// newWriter is [NewWriter]; personDict false writes the person column in
// PLAIN pages, as the tables written before it was dictionary-encoded
// (tests of that layout).
func newWriter(w io.Writer, s *Schema, opt WriterOptions, personDict bool) (*Writer, error) {
	as := s.Arrow()
	props := writerProps(opt)
	// Dictionary-encoded columns stay dictionary-encoded in the file,
	// and so does the person column: a person's rows repeat their
	// pseudonym, so that a reader decodes (and hashes) each one once per
	// row group and reads the rows as small dictionary indices. A row
	// group's bytes (groupBytes) fit the dictionary page's limit, so it
	// does not fall back to plain pages. Its pages are compressed at
	// zstd's default level: at the fastest one, a dictionary of random
	// pseudonyms barely shrinks (the column took 1.7 times its PLAIN
	// size; 1.2 times at the default level, with 5 rows per person).
	for _, f := range s.fields {
		if f.Type == Enum {
			props = append(props, parquet.WithDictionaryFor(f.Name, true))
		}
		if personDict && f.Name == PersonColumn && f.Type == String {
			props = append(props, parquet.WithDictionaryFor(f.Name, true), parquet.WithCompressionLevelFor(f.Name, personLevel))
		}
	}
	// The Arrow schema is not stored (pqarrow v17 cannot read a
	// dictionary column back across row groups); the column types are
	// kept in hdw's own footer entry instead.
	fw, err := pqarrow.NewFileWriter(as, writeOnly{w}, parquet.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, fmt.Errorf("tables: new writer: %w", err)
	}
	if err := fw.AppendKeyValueMetadata(typesKey, s.types()); err != nil {
		return nil, fmt.Errorf("tables: new writer: %w", err)
	}
	max := opt.GroupRows
	if max <= 0 || max > groupRows {
		max = groupRows
	}
	return &Writer{s: s, fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, as), max: max,
		vals: make([]string, len(s.fields))}, nil
}

// Schema returns the writer's schema.
func (w *Writer) Schema() *Schema { return w.s }

// Rows returns the number of rows appended.
func (w *Writer) Rows() int64 { return w.rows }

// Append appends one row; vals are aligned with the schema's columns and
// "" is null. A value that does not parse as its column's type returns a
// [*ValueError] and appends nothing.
func (w *Writer) Append(vals []string) error {
	if len(vals) != len(w.s.fields) {
		return fmt.Errorf("tables: row has %d values for %d columns", len(vals), len(w.s.fields))
	}
	// Check first, so that a bad row leaves the builders aligned.
	for i, f := range w.s.fields {
		if vals[i] != "" && !valid(f.Type, vals[i]) {
			return &ValueError{Row: w.rows + 1, Column: f.Name, Type: f.Type}
		}
	}
	for i, f := range w.s.fields {
		appendValue(w.rb.Field(i), f.Type, vals[i])
		w.pending += len(vals[i]) + 4
	}
	w.rows++
	w.buffered++
	if w.buffered >= w.max || w.pending >= groupBytes {
		return w.flush()
	}
	return nil
}

// AppendMap appends one row given as column -> value (missing columns are
// null; names not in the schema are ignored).
func (w *Writer) AppendMap(m map[string]string) error {
	for i, f := range w.s.fields {
		w.vals[i] = m[f.Name]
	}
	return w.Append(w.vals)
}

// AppendRow appends a row read by [Scan] (columns matched by name; those
// the row lacks are null).
func (w *Writer) AppendRow(r *Row) error {
	for i, f := range w.s.fields {
		w.vals[i] = r.Get(f.Name)
	}
	return w.Append(w.vals)
}

func (w *Writer) flush() error {
	if w.buffered == 0 {
		return nil
	}
	rec := w.rb.NewRecord()
	defer rec.Release()
	w.buffered, w.pending = 0, 0
	if err := w.fw.Write(rec); err != nil {
		return fmt.Errorf("tables: write row group: %w", err)
	}
	return nil
}

// Close flushes the last row group and writes the footer.
func (w *Writer) Close() error {
	defer w.rb.Release()
	if err := w.flush(); err != nil {
		w.fw.Close()
		return err
	}
	if err := w.fw.Close(); err != nil {
		return fmt.Errorf("tables: close: %w", err)
	}
	return nil
}

// Today's warehouse wrote floats with a decimal comma accepted.
func parseFloat(v string) (float64, error) {
	return strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
}

const dayLayout = "2006-01-02"

// ParseDate returns the days since 1970-01-01 of a YYYY-MM-DD date
// (negative before 1970).
func ParseDate(v string) (int32, error) {
	t, err := time.Parse(dayLayout, v)
	if err != nil {
		return 0, err
	}
	d := t.Unix() / 86400
	if t.Unix()%86400 < 0 {
		d--
	}
	return int32(d), nil
}

// FormatDate is the inverse of [ParseDate].
func FormatDate(days int32) string {
	return time.Unix(int64(days)*86400, 0).UTC().Format(dayLayout)
}

func valid(t Type, v string) bool {
	var err error
	switch t {
	case Int:
		_, err = strconv.ParseInt(v, 10, 64)
	case Float:
		_, err = parseFloat(v)
	case Date:
		_, err = ParseDate(v)
	}
	return err == nil
}

func appendValue(b array.Builder, t Type, v string) {
	if v == "" {
		b.AppendNull()
		return
	}
	switch t {
	case Int:
		n, _ := strconv.ParseInt(v, 10, 64)
		b.(*array.Int64Builder).Append(n)
	case Float:
		f, _ := parseFloat(v)
		b.(*array.Float64Builder).Append(f)
	case Date:
		d, _ := ParseDate(v)
		b.(*array.Date32Builder).Append(arrow.Date32(d))
	case Enum:
		b.(*array.BinaryDictionaryBuilder).AppendString(v)
	default:
		b.(*array.StringBuilder).Append(v)
	}
}
