package tables

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/configs"
)

// Type is the stored type of a column.
type Type uint8

// Column types.
const (
	String Type = iota // UTF-8 string
	Int                // INT64
	Float              // DOUBLE
	Date               // DATE32
	Enum               // dictionary-encoded UTF-8 string
)

func (t Type) String() string {
	switch t {
	case Int:
		return "int"
	case Float:
		return "float"
	case Date:
		return "date"
	case Enum:
		return "enum"
	}
	return "string"
}

// TypeOf returns the stored type of a data dictionary type.
func TypeOf(dictType string) Type {
	switch dictType {
	case "int":
		return Int
	case "float":
		return Float
	case "date":
		return Date
	case "sex", "enum":
		return Enum
	}
	return String
}

// Field is one column.
type Field struct {
	Name string
	Type Type
}

// Schema is an ordered list of typed columns.
type Schema struct {
	fields []Field
	idx    map[string]int
	typed  bool // read from a file written by this package
}

// Typed reports whether a schema read from a file was written by this
// package (issue 17), not in the all-string layout written before.
func (s *Schema) Typed() bool { return s.typed }

// NewSchema returns a schema of fields in the given order; a repeated
// name is an error.
func NewSchema(fields ...Field) (*Schema, error) {
	s := &Schema{fields: append([]Field(nil), fields...), idx: make(map[string]int, len(fields))}
	for i, f := range fields {
		if _, dup := s.idx[f.Name]; dup || f.Name == "" {
			return nil, fmt.Errorf("tables: column %q repeated or empty", f.Name)
		}
		s.idx[f.Name] = i
	}
	return s, nil
}

// Fixed are the types of hdw's own columns (not in the dictionary).
var Fixed = map[string]Type{
	"collected":    Date,
	"image_bytes":  Int,
	"image_format": Enum,
	"basis_kind":   Enum,
	"import":       Enum,
}

// FromDictionary returns the schema of cols, in that order: a column of the
// dictionary gets its type ([TypeOf]), one of [Fixed] its fixed type, any
// other one (record_id, pseudonym, batch, ...) a string.
func FromDictionary(d *configs.Dictionary, cols []string) *Schema {
	fs := make([]Field, 0, len(cols))
	for _, c := range cols {
		t := String
		if col, ok := d.Lookup(c); ok {
			t = TypeOf(col.Type)
		} else if ft, ok := Fixed[c]; ok {
			t = ft
		}
		fs = append(fs, Field{Name: c, Type: t})
	}
	s, err := NewSchema(fs...)
	if err != nil {
		panic(err) // callers pass distinct names; a repeat is a programming error
	}
	return s
}

// Strings returns a schema of string columns (a table of today's layout).
func Strings(cols []string) *Schema {
	fs := make([]Field, len(cols))
	for i, c := range cols {
		fs[i] = Field{Name: c}
	}
	s, err := NewSchema(fs...)
	if err != nil {
		panic(err)
	}
	return s
}

// Columns returns the column names in order.
func (s *Schema) Columns() []string {
	out := make([]string, len(s.fields))
	for i, f := range s.fields {
		out[i] = f.Name
	}
	return out
}

// Fields returns the columns.
func (s *Schema) Fields() []Field { return append([]Field(nil), s.fields...) }

// Lookup returns a column's type.
func (s *Schema) Lookup(name string) (Type, bool) {
	i, ok := s.idx[name]
	if !ok {
		return String, false
	}
	return s.fields[i].Type, true
}

// Arrow returns the Arrow schema (all columns nullable).
func (s *Schema) Arrow() *arrow.Schema {
	fs := make([]arrow.Field, len(s.fields))
	for i, f := range s.fields {
		fs[i] = arrow.Field{Name: f.Name, Type: arrowType(f.Type), Nullable: true}
	}
	return arrow.NewSchema(fs, nil)
}

func arrowType(t Type) arrow.DataType {
	switch t {
	case Int:
		return arrow.PrimitiveTypes.Int64
	case Float:
		return arrow.PrimitiveTypes.Float64
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Enum:
		return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	}
	return arrow.BinaryTypes.String
}

// typesKey is the Parquet footer entry holding the column types.
const typesKey = "hdw.types"

// types encodes the column types as "name=type,..." (names never hold
// '=' or ',': they come from the dictionary).
func (s *Schema) types() string {
	var b strings.Builder
	for i, f := range s.fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.Name + "=" + f.Type.String())
	}
	return b.String()
}

// fromArrow returns the schema of a file's Arrow schema and its hdw type
// entry (types), if any: types hdw does not write are read as strings.
func fromArrow(as *arrow.Schema, types string) *Schema {
	declared := map[string]Type{}
	for _, kv := range strings.Split(types, ",") {
		if n, t, ok := strings.Cut(kv, "="); ok && t == "enum" {
			declared[n] = Enum
		}
	}
	fs := make([]Field, 0, as.NumFields())
	seen := map[string]bool{}
	for _, f := range as.Fields() {
		if seen[f.Name] {
			continue
		}
		seen[f.Name] = true
		t := String
		switch f.Type.ID() {
		case arrow.INT64, arrow.INT32, arrow.INT16, arrow.INT8:
			t = Int
		case arrow.FLOAT64, arrow.FLOAT32:
			t = Float
		case arrow.DATE32:
			t = Date
		case arrow.DICTIONARY:
			t = Enum
		case arrow.STRING:
			if declared[f.Name] == Enum {
				t = Enum
			}
		}
		fs = append(fs, Field{Name: f.Name, Type: t})
	}
	s, _ := NewSchema(fs...)
	s.typed = types != ""
	return s
}
