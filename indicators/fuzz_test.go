package indicators_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"hdw/configs"
	"hdw/criteria"
	"hdw/indicators"
)

// FuzzParseDefinition: a definition file never panics the parser or the
// compiler; every refusal is the package's (or the criterion's) error; an
// accepted definition marshals and parses back to the same hash (what an
// approval is bound to).
func FuzzParseDefinition(f *testing.F) {
	for _, s := range []string{
		`{"name": "a", "measure": "count"}`,
		`{"name": "ct-by-dep", "measure": "count", "group_by": ["department", "visit_date:month"], "filter": "modality == 'CT'", "epsilon": 0.5}`,
		`{"name": "w", "measure": "mean", "column": "weight_kg", "lower": 0, "upper": 200, "group_by": ["birth_year:band:10"]}`,
		`{"name": "h", "measure": "histogram", "column": "height_cm", "buckets": [0, 150, 170, 250], "noise": "gaussian"}`,
		`{"name": "q", "measure": "quantiles", "column": "weight_kg", "lower": 0, "upper": 1, "ranks": [0.5]}`,
		`{"name": "x", "measure": "count", "extra": 1}`,
		`{"name": "x", "measure": "count"} {}`,
	} {
		f.Add([]byte(s))
	}
	dict := configs.DefaultDictionary()
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := indicators.ParseDefinition(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, indicators.ErrDefinition) {
				t.Fatalf("parse error not ErrDefinition: %v", err)
			}
			return
		}
		p, err := indicators.Compile(d, dict)
		if err != nil {
			if !errors.Is(err, indicators.ErrDefinition) && !criteria.IsError(err) {
				t.Fatalf("compile error of another kind: %v", err)
			}
			return
		}
		b, err := json.Marshal(p.Def)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := indicators.ParseDefinition(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("an accepted definition does not parse back: %v\n%s", err, b)
		}
		p2, err := indicators.Compile(d2, dict)
		if err != nil || p2.Def.Hash() != p.Def.Hash() {
			t.Fatalf("round trip changed the definition: %v\n%s", err, b)
		}
	})
}
