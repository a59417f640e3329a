package rights_test

import (
	"errors"
	"testing"

	"hdw/rights"
)

func TestSEC_REI_2_Expr(t *testing.T) {
	row := map[string]string{"diagnosis": "C50.9", "birth_year": "1962", "modality": "CT", "weight_kg": "72.5", "notes": "it's"}
	cases := []struct {
		expr string
		want bool
	}{
		{"diagnosis = 'C50.9'", true},
		{"diagnosis == \"C50.9\"", true},
		{"diagnosis like 'C50%'", true},
		{"diagnosis LIKE 'C5_._'", true},
		{"diagnosis like 'J%'", false},
		{"birth_year < 1970", true},
		{"birth_year >= 1962 and birth_year <= 1962", true},
		{"birth_year > 1962", false},
		{"weight_kg > 9", true}, // numeric, not text, comparison
		{"modality in ('MR', 'CT')", true},
		{"modality in ('MR')", false},
		{"not modality = 'CT'", false},
		{"modality != 'CT' or diagnosis <> 'X'", true},
		{"(modality = 'MR' or modality = 'CT') and not (birth_year > 2000)", true},
		{"visit_date < '2020-01-01'", false}, // absent column: never less than
		{"visit_date = ''", true},
		{"notes = 'it''s'", true},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			e, err := rights.ParseExpr(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Eval(row); got != c.want {
				t.Fatalf("got %v", got)
			}
			again, err := rights.ParseExpr(e.String())
			if err != nil || again.String() != e.String() || again.Eval(row) != c.want {
				t.Fatalf("canonical form %q does not round-trip: %v", e.String(), err)
			}
		})
	}
	for _, bad := range []string{"", "diagnosis", "diagnosis =", "= 'x'", "diagnosis = 'x' and", "(diagnosis = 'x'", "diagnosis = 'x')",
		"diagnosis in ('a' 'b')", "diagnosis = 'open", "diagnosis ! 'x'", "diagnosis = x", "diagnosis = 1.2.3", "é = 'x'"} {
		_, err := rights.ParseExpr(bad)
		var ee *rights.ExprError
		if !errors.As(err, &ee) {
			t.Errorf("%q: got %v, want *ExprError", bad, err)
		}
	}
}

// FuzzParseExpr: no panic, every error is an *ExprError, and the canonical
// form is a fixed point of parsing that evaluates the same.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"diagnosis = 'C50'", "a in (1, 2, 'x') or not (b like '%y_')", "x >= -1.5e3 and y <> \"q\"\"\"", "((((a=1))))", "not not a = ''"} {
		f.Add(s)
	}
	row := map[string]string{"a": "1", "b": "xy", "diagnosis": "C50", "x": "0"}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := rights.ParseExpr(s)
		if err != nil {
			var ee *rights.ExprError
			if !errors.As(err, &ee) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		c := e.String()
		again, err := rights.ParseExpr(c)
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", c, err)
		}
		if again.String() != c {
			t.Fatalf("canonical form not a fixed point: %q -> %q", c, again.String())
		}
		if again.Eval(row) != e.Eval(row) {
			t.Fatal("canonical form evaluates differently")
		}
	})
}
