package criteria_test

import (
	"strings"
	"testing"

	"hdw/configs"
	"hdw/criteria"
)

func schema() *criteria.Schema {
	return criteria.FromDictionary(configs.DefaultDictionary(), []string{configs.CatHealth, configs.CatDerived, configs.CatFreeText},
		criteria.Column{Name: "collected", Type: criteria.Date})
}

var row = map[string]string{"diagnosis": "C50.9", "birth_year": "1962", "modality": "CT", "weight_kg": "72.5",
	"notes": "it's", "visit_date": "2019-05-01", "sex_code": "F", "collected": "2026-01-02"}

func TestSEC_REI_2_Criteria(t *testing.T) {
	cases := []struct {
		expr string
		want bool
	}{
		// CEL
		{"diagnosis == 'C50.9'", true},
		{"diagnosis.startsWith('C50') && birth_year >= 1960", true},
		{"diagnosis.matches('^J')", false},
		{"birth_year < 1970", true},
		{"weight_kg > 9", true}, // double against int
		{"weight_kg > 72.4 && weight_kg < 72.6", true},
		{"modality in ['MR', 'CT']", true},
		{"!(modality == 'CT')", false},
		{"visit_date < date('2020-01-01')", true},
		{"collected >= date('2026-01-01')", true},
		{"height_cm > 100", false},    // empty cell: never matches
		{"!(height_cm > 100)", false}, // nor its negation
		{"height_cm > 100 || modality == 'CT'", true},
		{"sex_code == 'F'", true},
		// the older syntax
		{"diagnosis = 'C50.9'", true},
		{"diagnosis like 'C50%'", true},
		{"diagnosis LIKE 'C5_._'", true},
		{"diagnosis like 'J%'", false},
		{"birth_year >= 1962 and birth_year <= 1962", true},
		{"birth_year = '1962'", true},
		{"modality in ('MR', 'CT')", true},
		{"modality in ('MR')", false},
		{"not modality = 'CT'", false},
		{"modality != 'CT' or diagnosis <> 'X'", true},
		{"(modality = 'MR' or modality = 'CT') and not (birth_year > 2000)", true},
		{"visit_date < '2020-01-01'", true},
		{"notes = 'it''s'", true},
	}
	s := schema()
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			cr, err := criteria.Compile(c.expr, s)
			if err != nil {
				t.Fatal(err)
			}
			if got := cr.Match(row); got != c.want {
				t.Fatalf("got %v (CEL %s)", got, cr)
			}
			again, err := criteria.Compile(cr.String(), s)
			if err != nil || again.String() != cr.String() || again.Match(row) != c.want {
				t.Fatalf("CEL form %q does not round-trip: %v", cr, err)
			}
		})
	}
}

// TestSEC_REI_2_CriteriaErrors: every mistake is a clear *Error before
// anything runs, never a criterion that silently selects nothing.
func TestSEC_REI_2_CriteriaErrors(t *testing.T) {
	s := schema()
	cases := []struct{ expr, want string }{
		{"", "empty"},
		{"nir == '1'", "column nir is identifying data"}, // identifying: not in the schema
		{"diagnosiss == 'C50'", "unknown column"},        // misspelt
		{"birth_year == 'x'", "no matching overload"},    // wrong type
		{"birth_year", "true or false"},
		{"modality == 'ct'", "enum"}, // case: refused, not silently empty
		{"modality in ['CT', 'mr']", "enum"},
		{"'xx' == modality", "enum"},
		{"sex_code == 'female'", "enum"},
		{"visit_date < date('2020-13-45')", "YYYY-MM-DD"},
		{"visit_date < '2020-01-01' &&", "Syntax error"},
		{"modality = 'ct'", "enum"}, // the older syntax too
		{"diagnosis in ('a' 'b')", "expected , or )"},
		{"diagnosis = 'open", "unterminated"},
		{strings.Repeat("(", 5000), "too long"},
	}
	for _, c := range cases {
		_, err := criteria.Compile(c.expr, s)
		if !criteria.IsError(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: got %v, want a criteria error with %q", c.expr, err, c.want)
		}
	}
}

func TestCriteriaColumns(t *testing.T) {
	cr, err := criteria.Compile("modality == 'CT' && (birth_year < 1970 || diagnosis.startsWith('C'))", schema())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cr.Columns(), ","); got != "birth_year,diagnosis,modality" {
		t.Fatal(got)
	}
}

// FuzzCompile: no panic, every error is a *criteria.Error, and a compiled
// criterion evaluates on a row and compiles again from its CEL form.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"diagnosis == 'C50'", "a in (1, 2, 'x') or not (b like '%y_')", "birth_year >= -1.5e3 and notes <> \"q\"\"\"",
		"((((modality='CT'))))", "not not diagnosis = ''", "modality in ['CT'] && visit_date < date('2020-01-01')", "size(diagnosis) > 2"} {
		f.Add(s)
	}
	s := schema()
	f.Fuzz(func(t *testing.T, src string) {
		cr, err := criteria.Compile(src, s)
		if err != nil {
			if !criteria.IsError(err) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		m := cr.Match(row)
		again, err := criteria.Compile(cr.String(), s)
		if err != nil {
			t.Fatalf("CEL form %q does not compile: %v", cr, err)
		}
		if again.Match(row) != m {
			t.Fatal("CEL form evaluates differently")
		}
	})
}
