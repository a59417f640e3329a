package criteria

import (
	"regexp"
	"strconv"
	"strings"
)

// The older criteria syntax, translated to CEL (keywords case-insensitive):
//
//	expr    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | "(" expr ")" | compare
//	compare = column op value | column "in" "(" value { "," value } ")"
//	op      = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "like"
//	value   = 'text' | "text" | number
//
// Values are written in the column's type: bare numbers for int and float
// columns, date('...') for date columns, quoted text otherwise; like becomes
// matches() with % as .* and _ as one character.

var legacyWord = regexp.MustCompile(`(?i)(^|[\s)])(and|or|not|like)[\s(]|(^|[^=!<>])=([^=]|$)|<>|\bin\s*\(`)

// legacyLooking reports whether src is plainly written in the older syntax.
func legacyLooking(src string) bool { return legacyWord.MatchString(src) }

type ltok struct {
	kind byte // 'i' ident, 's' text, 'n' number, 'o' operator or keyword, '(' ')' ',', 0 end
	text string
	pos  int
}

func lexLegacy(s string) ([]ltok, error) {
	var out []ltok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, ltok{c, string(c), i})
			i++
		case c == '\'' || c == '"':
			start := i
			var b strings.Builder
			for i++; ; i++ {
				if i >= len(s) {
					return nil, &Error{Pos: start, Msg: "unterminated text value"}
				}
				if s[i] == c {
					if i+1 < len(s) && s[i+1] == c {
						b.WriteByte(c)
						i++
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
			}
			out = append(out, ltok{'s', b.String(), start})
		case strings.IndexByte("=!<>", c) >= 0:
			raw := s[i : i+1]
			if i+1 < len(s) && (s[i+1] == '=' || c == '<' && s[i+1] == '>') {
				raw = s[i : i+2]
			}
			op := raw
			switch raw {
			case "=":
				op = "=="
			case "<>":
				op = "!="
			case "!":
				return nil, &Error{Pos: i, Msg: "use != or not"}
			}
			out = append(out, ltok{'o', op, i})
			i += len(raw)
		case c == '-' || c == '.' || c >= '0' && c <= '9':
			start := i
			for i++; i < len(s) && (s[i] >= '0' && s[i] <= '9' || strings.IndexByte(".eE", s[i]) >= 0 ||
				(s[i] == '-' || s[i] == '+') && (s[i-1] == 'e' || s[i-1] == 'E')); i++ {
			}
			if _, err := strconv.ParseFloat(s[start:i], 64); err != nil {
				return nil, &Error{Pos: start, Msg: "malformed number"}
			}
			out = append(out, ltok{'n', s[start:i], start})
		case c == '_' || c|0x20 >= 'a' && c|0x20 <= 'z':
			start := i
			for i < len(s) && (s[i] == '_' || s[i]|0x20 >= 'a' && s[i]|0x20 <= 'z' || s[i] >= '0' && s[i] <= '9') {
				i++
			}
			w := strings.ToLower(s[start:i])
			switch w {
			case "and", "or", "not", "in", "like":
				out = append(out, ltok{'o', w, start})
			default:
				out = append(out, ltok{'i', w, start})
			}
		default:
			return nil, &Error{Pos: i, Msg: "unexpected character"}
		}
	}
	return append(out, ltok{0, "", len(s)}), nil
}

type legacy struct {
	toks   []ltok
	i      int
	schema *Schema
	b      strings.Builder
}

// translate returns the CEL form of a criterion in the older syntax.
func translate(src string, schema *Schema) (string, error) {
	toks, err := lexLegacy(src)
	if err != nil {
		return "", err
	}
	p := &legacy{toks: toks, schema: schema}
	if err := p.or(0); err != nil {
		return "", err
	}
	if t := p.toks[p.i]; t.kind != 0 {
		return "", &Error{Pos: t.pos, Msg: "unexpected " + describe(t)}
	}
	return p.b.String(), nil
}

func describe(t ltok) string {
	switch t.kind {
	case 0:
		return "end of criterion"
	case 's':
		return "text value"
	case 'n':
		return "number"
	}
	return strconv.Quote(t.text)
}

func (p *legacy) next() ltok {
	t := p.toks[p.i]
	if t.kind != 0 {
		p.i++
	}
	return t
}

func (p *legacy) is(kw string) bool { t := p.toks[p.i]; return t.kind == 'o' && t.text == kw }

// list parses item { sep item }, writing join between the items.
func (p *legacy) list(kw, join string, item func() error) error {
	if err := item(); err != nil {
		return err
	}
	for p.is(kw) {
		p.next()
		p.b.WriteString(join)
		if err := item(); err != nil {
			return err
		}
	}
	return nil
}

func (p *legacy) or(depth int) error {
	return p.list("or", " || ", func() error { return p.list("and", " && ", func() error { return p.unary(depth) }) })
}

func (p *legacy) unary(depth int) error {
	if depth > 100 {
		return &Error{Pos: p.toks[p.i].pos, Msg: "criterion nested too deeply"}
	}
	t := p.next()
	switch {
	case t.kind == 'o' && t.text == "not":
		p.b.WriteString("!(")
		if err := p.unary(depth + 1); err != nil {
			return err
		}
		p.b.WriteString(")")
		return nil
	case t.kind == '(':
		p.b.WriteString("(")
		if err := p.or(depth + 1); err != nil {
			return err
		}
		if c := p.next(); c.kind != ')' {
			return &Error{Pos: c.pos, Msg: "expected ) instead of " + describe(c)}
		}
		p.b.WriteString(")")
		return nil
	case t.kind == 'i':
		return p.compare(t.text)
	}
	return &Error{Pos: t.pos, Msg: "expected a column, not or ( instead of " + describe(t)}
}

func (p *legacy) compare(col string) error {
	op := p.next()
	if op.kind != 'o' || op.text == "and" || op.text == "or" || op.text == "not" {
		return &Error{Pos: op.pos, Msg: "expected an operator after the column instead of " + describe(op)}
	}
	switch op.text {
	case "in":
		if t := p.next(); t.kind != '(' {
			return &Error{Pos: t.pos, Msg: "expected ( after in"}
		}
		p.b.WriteString(col + " in [")
		for n := 0; ; n++ {
			if n > 0 {
				p.b.WriteString(", ")
			}
			if err := p.value(col); err != nil {
				return err
			}
			t := p.next()
			if t.kind == ')' {
				break
			}
			if t.kind != ',' {
				return &Error{Pos: t.pos, Msg: "expected , or ) instead of " + describe(t)}
			}
		}
		p.b.WriteString("]")
		return nil
	case "like":
		t := p.next()
		if t.kind != 's' {
			return &Error{Pos: t.pos, Msg: "like wants a quoted pattern"}
		}
		var re strings.Builder
		for _, r := range t.text {
			switch r {
			case '%':
				re.WriteString(".*")
			case '_':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		p.b.WriteString(col + ".matches(" + strconv.Quote("^(?s)"+re.String()+"$") + ")")
		return nil
	}
	p.b.WriteString(col + " " + op.text + " ")
	return p.value(col)
}

// value writes the next value in the type of col.
func (p *legacy) value(col string) error {
	t := p.next()
	if t.kind != 's' && t.kind != 'n' {
		return &Error{Pos: t.pos, Msg: "expected a value instead of " + describe(t)}
	}
	switch p.schema.cols[col].Type {
	case Int, Float:
		if _, err := strconv.ParseFloat(strings.TrimSpace(t.text), 64); err == nil {
			p.b.WriteString(strings.TrimSpace(t.text))
			return nil
		}
	case Date:
		p.b.WriteString("date(" + strconv.Quote(t.text) + ")")
		return nil
	}
	p.b.WriteString(strconv.Quote(t.text))
	return nil
}
