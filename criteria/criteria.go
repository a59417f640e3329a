package criteria

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"

	"hdw/configs"
)

// MaxLen bounds the length of a criterion.
const MaxLen = 4096

var undeclared = regexp.MustCompile(`^undeclared reference to '([^']*)'`)

// maxCost bounds the evaluation cost of a criterion on one row.
const maxCost = 100_000

// Error is a criterion that does not compile: what is wrong and where (Pos
// is a byte offset, -1 when unknown). It never holds a row's value.
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string {
	if e.Pos < 0 {
		return "criteria: " + e.Msg
	}
	return fmt.Sprintf("criteria: at %d: %s", e.Pos, e.Msg)
}

// Column types of a schema (the dictionary's types).
const (
	Int    = "int"
	Float  = "float"
	Date   = "date"
	Enum   = "enum"
	Sex    = "sex"
	String = "string"
)

// Column is one column a criterion may read.
type Column struct {
	Name   string
	Type   string   // Int, Float, Date, Enum, Sex or String; other dictionary types read as String
	Values []string // Enum: the allowed values
}

// Schema is the set of columns a criterion may read.
type Schema struct {
	cols  map[string]Column
	other map[string]string // dictionary columns outside the schema -> their category
}

// NewSchema returns the schema of cols.
func NewSchema(cols ...Column) *Schema {
	s := &Schema{cols: map[string]Column{}, other: map[string]string{}}
	for _, c := range cols {
		switch c.Type {
		case Int, Float, Date, Enum, String:
		case Sex:
			c.Type, c.Values = Enum, []string{"M", "F", "U"}
		default:
			c.Type = String
		}
		s.cols[strings.ToLower(c.Name)] = c
	}
	return s
}

// FromDictionary returns the schema of the dictionary's columns of the
// given categories, plus extra columns. A criterion on another dictionary
// column is refused with its category named.
func FromDictionary(d *configs.Dictionary, categories []string, extra ...Column) *Schema {
	var cols []Column
	other := map[string]string{}
	for _, c := range d.Columns {
		if slices.Contains(categories, c.Category) {
			cols = append(cols, Column{Name: c.Name, Type: c.Type, Values: c.Values})
		} else {
			other[c.Name] = c.Category
		}
	}
	s := NewSchema(append(cols, extra...)...)
	s.other = other
	return s
}

// Names returns the schema's column names, sorted.
func (s *Schema) Names() []string { return slices.Sorted(maps.Keys(s.cols)) }

// Criterion is a compiled criterion.
type Criterion struct {
	src    string
	prg    cel.Program
	schema *Schema
	cols   []string
}

// String returns the criterion in CEL (the translated form of the older syntax).
func (c *Criterion) String() string { return c.src }

// Columns returns the columns the criterion reads, sorted.
func (c *Criterion) Columns() []string { return slices.Clone(c.cols) }

// Compile type-checks src against schema. Errors are *Error.
func Compile(src string, schema *Schema) (*Criterion, error) {
	if len(src) > MaxLen {
		return nil, &Error{Pos: MaxLen, Msg: "criterion too long"}
	}
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Pos: 0, Msg: "empty criterion"}
	}
	c, err := compileCEL(src, schema)
	if err == nil {
		return c, nil
	}
	// The older syntax, translated; its own errors are not the user's
	// (the CEL error is), unless the text was plainly written in it.
	if t, terr := translate(src, schema); terr == nil {
		if c, err2 := compileCEL(t, schema); err2 == nil {
			return c, nil
		} else if legacyLooking(src) {
			return nil, err2
		}
	} else if legacyLooking(src) {
		return nil, terr
	}
	return nil, err
}

func env(schema *Schema) (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.CrossTypeNumericComparisons(true),
		cel.ParserRecursionLimit(100),
		cel.ParserExpressionSizeLimit(MaxLen),
		cel.Function("date", cel.Overload("date_string", []*cel.Type{cel.StringType}, cel.TimestampType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				s, _ := v.Value().(string)
				t, err := time.Parse("2006-01-02", s)
				if err != nil {
					return types.NewErr("date: want YYYY-MM-DD")
				}
				return types.Timestamp{Time: t}
			}))),
	}
	for _, n := range schema.Names() {
		opts = append(opts, cel.Variable(n, celType(schema.cols[n].Type)))
	}
	return cel.NewEnv(opts...)
}

func celType(t string) *cel.Type {
	switch t {
	case Int:
		return cel.IntType
	case Float:
		return cel.DoubleType
	case Date:
		return cel.TimestampType
	}
	return cel.StringType
}

func compileCEL(src string, schema *Schema) (*Criterion, error) {
	e, err := env(schema)
	if err != nil {
		return nil, &Error{Pos: -1, Msg: err.Error()}
	}
	checked, iss := e.Compile(src)
	if iss.Err() != nil {
		return nil, schema.issueError(src, iss)
	}
	if checked.OutputType() != cel.BoolType {
		return nil, &Error{Pos: 0, Msg: "a criterion must be true or false, not " + checked.OutputType().String()}
	}
	c := &Criterion{src: src, schema: schema}
	if err := c.vet(checked.NativeRep()); err != nil {
		return nil, err
	}
	c.prg, err = e.Program(checked, cel.CostLimit(maxCost))
	if err != nil {
		return nil, &Error{Pos: -1, Msg: err.Error()}
	}
	return c, nil
}

// issueError keeps the first issue's message and offset.
func (s *Schema) issueError(src string, iss *cel.Issues) *Error {
	errs := iss.Errors()
	if len(errs) == 0 {
		return &Error{Pos: -1, Msg: iss.Err().Error()}
	}
	e := errs[0]
	loc := e.Location
	pos := -1
	if loc != nil && loc.Line() >= 1 {
		pos = lineOffset(src, loc.Line()) + loc.Column()
	}
	msg := e.Message
	if m := undeclared.FindStringSubmatch(msg); m != nil {
		if cat, ok := s.other[m[1]]; ok {
			msg = fmt.Sprintf("column %s is %s data: not allowed in this criterion (allowed: %s)", m[1], cat, strings.Join(s.Names(), ", "))
		} else {
			msg = fmt.Sprintf("unknown column '%s': not in the data dictionary", m[1])
		}
	}
	return &Error{Pos: pos, Msg: msg}
}

func lineOffset(src string, line int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(src[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	return off
}

// vet collects the columns read and refuses enum comparisons with values
// the dictionary does not list, and malformed date('...') literals.
func (c *Criterion) vet(a *ast.AST) error {
	var err error
	cols := map[string]bool{}
	fail := func(id int64, msg string) {
		if err == nil {
			pos := -1
			if loc := a.SourceInfo().GetStartLocation(id); loc.Line() >= 1 {
				pos = lineOffset(c.src, loc.Line()) + loc.Column()
			}
			err = &Error{Pos: pos, Msg: msg}
		}
	}
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.IdentKind:
			if _, ok := c.schema.cols[e.AsIdent()]; ok {
				cols[e.AsIdent()] = true
			}
		case ast.CallKind:
			call := e.AsCall()
			args := call.Args()
			switch call.FunctionName() {
			case "date":
				if len(args) == 1 && args[0].Kind() == ast.LiteralKind {
					s, _ := args[0].AsLiteral().Value().(string)
					if _, perr := time.Parse("2006-01-02", s); perr != nil {
						fail(args[0].ID(), "date('...') wants YYYY-MM-DD")
					}
				}
			case operators.Equals, operators.NotEquals, operators.In:
				if len(args) == 2 {
					if msg := c.enumCheck(args[0], args[1]); msg != "" {
						fail(e.ID(), msg)
					} else if msg := c.enumCheck(args[1], args[0]); msg != "" && call.FunctionName() != operators.In {
						fail(e.ID(), msg)
					}
				}
			}
		}
	}))
	c.cols = slices.Sorted(maps.Keys(cols))
	return err
}

// enumCheck returns what is wrong when col is an enum column and other a
// string literal (or a list of them) outside its values.
func (c *Criterion) enumCheck(col, other ast.Expr) string {
	if col.Kind() != ast.IdentKind {
		return ""
	}
	sc, ok := c.schema.cols[col.AsIdent()]
	if !ok || sc.Type != Enum {
		return ""
	}
	var lits []ast.Expr
	switch other.Kind() {
	case ast.LiteralKind:
		lits = []ast.Expr{other}
	case ast.ListKind:
		lits = other.AsList().Elements()
	}
	for _, l := range lits {
		if l.Kind() != ast.LiteralKind {
			continue
		}
		s, ok := l.AsLiteral().Value().(string)
		if ok && !slices.Contains(sc.Values, s) {
			return fmt.Sprintf("%s is an enum: %s is not one of its values (%s; values are case-sensitive)",
				sc.Name, strconv.Quote(s), strings.Join(sc.Values, ", "))
		}
	}
	return ""
}

// Match reports whether row satisfies the criterion. An evaluation that
// fails on a row (an empty or malformed cell) does not match it.
func (c *Criterion) Match(row map[string]string) bool {
	v, _, err := c.prg.Eval(rowActivation{c.schema, row})
	if err != nil {
		return false
	}
	b, ok := v.Value().(bool)
	return ok && b
}

// rowActivation binds a row's cells, converted to the column types.
type rowActivation struct {
	s   *Schema
	row map[string]string
}

func (a rowActivation) Parent() interpreter.Activation { return nil }

func (a rowActivation) ResolveName(name string) (any, bool) {
	col, ok := a.s.cols[name]
	if !ok {
		return nil, false
	}
	v := a.row[name]
	switch col.Type {
	case Int:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	case Float:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil
	case Date:
		v = strings.TrimSpace(v)
		if t, err := time.Parse("2006-01-02", v); err == nil {
			return t, true
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		return t, err == nil
	}
	return v, true
}

// IsError reports whether err is (or wraps) a criterion error.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
