package rights

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// MaxExprLen bounds the length of a criteria expression.
const MaxExprLen = 4096

// ExprError is a syntax error in a criteria expression, at byte offset Pos.
type ExprError struct {
	Pos int
	Msg string
}

func (e *ExprError) Error() string { return fmt.Sprintf("criteria: at %d: %s", e.Pos, e.Msg) }

// Expr is a parsed criteria expression over the columns of a row (SEC-REI-2
// medical criteria). Grammar (keywords case-insensitive):
//
//	expr    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | "(" expr ")" | compare
//	compare = column op value | column "in" "(" value { "," value } ")"
//	op      = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "like"
//	value   = 'text' | "text" | number
//
// Both sides compare as numbers when both parse as numbers, else as text;
// like matches text with % (any run) and _ (one character). An absent
// column is the empty text.
type Expr struct {
	root node
	cols []string
}

type node interface {
	eval(row map[string]string) bool
	str(b *strings.Builder)
}

type binNode struct {
	and         bool
	left, right node
}

func (n *binNode) eval(r map[string]string) bool {
	if n.and {
		return n.left.eval(r) && n.right.eval(r)
	}
	return n.left.eval(r) || n.right.eval(r)
}

func (n *binNode) str(b *strings.Builder) {
	b.WriteByte('(')
	n.left.str(b)
	if n.and {
		b.WriteString(" and ")
	} else {
		b.WriteString(" or ")
	}
	n.right.str(b)
	b.WriteByte(')')
}

type notNode struct{ x node }

func (n *notNode) eval(r map[string]string) bool { return !n.x.eval(r) }
func (n *notNode) str(b *strings.Builder) {
	b.WriteString("not ")
	n.x.str(b)
}

type cmpNode struct {
	col  string
	op   string
	vals []string
}

func (n *cmpNode) eval(r map[string]string) bool {
	v := r[n.col]
	switch n.op {
	case "in":
		for _, x := range n.vals {
			if compare(v, x) == 0 {
				return true
			}
		}
		return false
	case "like":
		return like(v, n.vals[0])
	}
	c := compare(v, n.vals[0])
	switch n.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0 && v != ""
	case "<=":
		return c <= 0 && v != ""
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func (n *cmpNode) str(b *strings.Builder) {
	b.WriteString(n.col)
	if n.op == "in" {
		b.WriteString(" in (")
		for i, v := range n.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quote(v))
		}
		b.WriteByte(')')
		return
	}
	b.WriteString(" " + n.op + " ")
	b.WriteString(quote(n.vals[0]))
}

// quote writes a value: numbers bare, text in single quotes (” escapes ').
func quote(v string) string {
	if isNumber(v) {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

func isNumber(s string) bool {
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !strings.ContainsAny(s, "iInN") && f == f
}

func compare(a, b string) int {
	if isNumber(a) && isNumber(b) {
		x, _ := strconv.ParseFloat(a, 64)
		y, _ := strconv.ParseFloat(b, 64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// like matches s against a pattern with % and _ (iterative, linear in practice).
func like(s, pat string) bool {
	sr, pr := []rune(s), []rune(pat)
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(sr) {
		switch {
		case pi < len(pr) && (pr[pi] == '_' || pr[pi] == sr[si]):
			si++
			pi++
		case pi < len(pr) && pr[pi] == '%':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pr) && pr[pi] == '%' {
		pi++
	}
	return pi == len(pr)
}

// Eval reports whether row satisfies the expression.
func (e *Expr) Eval(row map[string]string) bool { return e.root.eval(row) }

// Columns returns the columns the expression reads, in order of appearance.
func (e *Expr) Columns() []string { return append([]string(nil), e.cols...) }

// String returns the canonical form of the expression; parsing it again
// yields the same canonical form.
func (e *Expr) String() string {
	var b strings.Builder
	e.root.str(&b)
	return b.String()
}

// ParseExpr parses a criteria expression. Errors are *ExprError.
func ParseExpr(s string) (*Expr, error) {
	if len(s) > MaxExprLen {
		return nil, &ExprError{Pos: MaxExprLen, Msg: "expression too long"}
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, &ExprError{Pos: t.pos, Msg: "unexpected " + t.describe()}
	}
	return &Expr{root: n, cols: p.cols}, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return "text value"
	case tNumber:
		return "number"
	}
	return strconv.Quote(t.text)
}

func lex(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tLParen, "(", i})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")", i})
			i++
		case c == ',':
			out = append(out, token{tComma, ",", i})
			i++
		case c == '\'' || c == '"':
			start := i
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				if s[i] == c {
					if i+1 < len(s) && s[i+1] == c {
						b.WriteByte(c)
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, &ExprError{Pos: start, Msg: "unterminated text value"}
			}
			out = append(out, token{tString, b.String(), start})
		case c == '=' || c == '!' || c == '<' || c == '>':
			start := i
			op := string(c)
			if i+1 < len(s) && (s[i+1] == '=' || (c == '<' && s[i+1] == '>')) {
				op += string(s[i+1])
			}
			i += len(op)
			switch op {
			case "==":
				op = "="
			case "<>":
				op = "!="
			case "!":
				return nil, &ExprError{Pos: start, Msg: "use != or not"}
			}
			out = append(out, token{tOp, op, start})
		case c == '-' || c == '.' || (c >= '0' && c <= '9'):
			start := i
			i++
			for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
				((s[i] == '-' || s[i] == '+') && (s[i-1] == 'e' || s[i-1] == 'E'))) {
				i++
			}
			if !isNumber(s[start:i]) {
				return nil, &ExprError{Pos: start, Msg: "malformed number"}
			}
			out = append(out, token{tNumber, s[start:i], start})
		case c < 128 && (unicode.IsLetter(rune(c)) || c == '_'):
			start := i
			for i < len(s) && s[i] < 128 && (unicode.IsLetter(rune(s[i])) || unicode.IsDigit(rune(s[i])) || s[i] == '_') {
				i++
			}
			w := s[start:i]
			switch lw := strings.ToLower(w); lw {
			case "and", "or", "not", "in", "like":
				out = append(out, token{tOp, lw, start})
			default:
				out = append(out, token{tIdent, strings.ToLower(w), start})
			}
		default:
			return nil, &ExprError{Pos: i, Msg: "unexpected character"}
		}
	}
	return append(out, token{tEOF, "", len(s)}), nil
}

type parser struct {
	toks []token
	i    int
	cols []string
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

const maxDepth = 100

func (p *parser) or(depth int) (node, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOp && p.peek().text == "or" {
		p.next()
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = &binNode{and: false, left: l, right: r}
	}
	return l, nil
}

func (p *parser) and(depth int) (node, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOp && p.peek().text == "and" {
		p.next()
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = &binNode{and: true, left: l, right: r}
	}
	return l, nil
}

func (p *parser) unary(depth int) (node, error) {
	if depth > maxDepth {
		return nil, &ExprError{Pos: p.peek().pos, Msg: "expression nested too deeply"}
	}
	t := p.peek()
	switch {
	case t.kind == tOp && t.text == "not":
		p.next()
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{x}, nil
	case t.kind == tLParen:
		p.next()
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, &ExprError{Pos: c.pos, Msg: "expected ) instead of " + c.describe()}
		}
		return x, nil
	case t.kind == tIdent:
		return p.compare()
	}
	return nil, &ExprError{Pos: t.pos, Msg: "expected a column, not or ( instead of " + t.describe()}
}

func (p *parser) value() (string, error) {
	t := p.next()
	if t.kind != tString && t.kind != tNumber {
		return "", &ExprError{Pos: t.pos, Msg: "expected a value instead of " + t.describe()}
	}
	return t.text, nil
}

func (p *parser) compare() (node, error) {
	col := p.next().text
	found := false
	for _, c := range p.cols {
		found = found || c == col
	}
	if !found {
		p.cols = append(p.cols, col)
	}
	op := p.next()
	if op.kind != tOp || op.text == "and" || op.text == "or" || op.text == "not" {
		return nil, &ExprError{Pos: op.pos, Msg: "expected an operator after the column instead of " + op.describe()}
	}
	n := &cmpNode{col: col, op: op.text}
	if op.text == "in" {
		if t := p.next(); t.kind != tLParen {
			return nil, &ExprError{Pos: t.pos, Msg: "expected ( after in"}
		}
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
			t := p.next()
			if t.kind == tRParen {
				break
			}
			if t.kind != tComma {
				return nil, &ExprError{Pos: t.pos, Msg: "expected , or ) instead of " + t.describe()}
			}
		}
		return n, nil
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	n.vals = []string{v}
	return n, nil
}
