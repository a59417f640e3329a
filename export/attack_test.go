package export_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"hdw/configs"
	"hdw/export"
)

// cohort is a synthetic health table of n persons with the dictionary's
// quasi-identifiers (birth year, sex, department, visit date).
func cohort(n int, seed uint64) table {
	r := rand.New(rand.NewPCG(seed, 1))
	t := table{cols: []string{"pseudonym", "birth_year", "sex_code", "department", "visit_date", "diagnosis"}}
	for i := range n {
		t.rows = append(t.rows, map[string]string{
			"pseudonym":  fmt.Sprintf("P%04d", i),
			"birth_year": strconv.Itoa(1930 + r.IntN(75)),
			"sex_code":   []string{"M", "F"}[r.IntN(2)],
			"department": fmt.Sprintf("%02d", 1+r.IntN(95)),
			"visit_date": fmt.Sprintf("202%d-%02d-%02d", r.IntN(5), 1+r.IntN(12), 1+r.IntN(28)),
			"diagnosis":  []string{"C50", "I21", "E11", "J45"}[r.IntN(4)],
		})
	}
	return t
}

func gate() export.Gate {
	return export.Gate{Dict: configs.DefaultDictionary(), Floors: export.Floors{K: 5, L: 2, MaxSuppression: 0.05}}
}

// TestSEC_EXP_1_AttackNarrowedQuasiIdentifiers: a requester naming only
// sex_code as quasi-identifier passes the bare engine while most released
// rows are unique on the dictionary's quasi-identifiers; through the gate
// every dictionary quasi-identifier is imposed and the export fails.
func TestSEC_EXP_1_AttackNarrowedQuasiIdentifiers(t *testing.T) {
	tb := cohort(400, 7)
	ctx := context.Background()
	narrowed := export.Request{QuasiIdentifiers: []string{"sex_code"}, Sensitive: []string{"diagnosis"}, PersonColumn: "pseudonym", K: 5, L: 2, Reference: ref}
	// Before: the bare engine trusts the requester's list.
	raw, err := export.Check(ctx, tb, narrowed)
	if err != nil || !raw.Pass {
		t.Fatalf("the bare engine was expected to pass the narrowed request: %v %v", err, raw.Reasons)
	}
	unique := map[string]int{}
	for _, r := range tb.rows {
		unique[r["birth_year"]+"|"+r["sex_code"]+"|"+r["department"]+"|"+r["visit_date"]]++
	}
	n := 0
	for _, c := range unique {
		if c == 1 {
			n++
		}
	}
	t.Logf("rows unique on the dictionary's quasi-identifiers: %d of %d", n, len(tb.rows))
	// After: the gate imposes the dictionary's quasi-identifiers.
	rep, err := gate().Check(ctx, tb, narrowed)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"birth_year", "sex_code", "department", "visit_date"} {
		if !slices.Contains(rep.Request.QuasiIdentifiers, q) || !slices.Contains(rep.Request.DictionaryQIs, q) {
			t.Fatalf("quasi-identifier %s not imposed: %v", q, rep.Request.QuasiIdentifiers)
		}
	}
	if rep.Pass || rep.SinglingOut.Pass {
		t.Fatalf("narrowed request passed the gate: smallest class %d", rep.SmallestClass)
	}
	// A requester can add quasi-identifiers.
	add := narrowed
	add.QuasiIdentifiers = []string{"diagnosis"}
	add.Sensitive = nil
	rep, err = gate().Check(ctx, tb, add)
	if err != nil || !slices.Contains(rep.Request.QuasiIdentifiers, "diagnosis") || !slices.Contains(rep.Request.QuasiIdentifiers, "birth_year") {
		t.Fatalf("added quasi-identifier: %v %v", err, rep)
	}
}

// TestSEC_EXP_1_ReleasedColumnsDeclared: only columns the dictionary
// declares as health, derived or genetic data are released.
func TestSEC_EXP_1_ReleasedColumnsDeclared(t *testing.T) {
	tb := cohort(50, 1)
	tb.cols = append(tb.cols, "pseudonym", "notes", "nir", "unknown_col")
	for _, s := range []string{"pseudonym", "notes", "nir", "unknown_col"} {
		_, err := gate().Check(context.Background(), tb, export.Request{Sensitive: []string{s}, PersonColumn: "pseudonym", Reference: ref})
		if !errors.Is(err, export.ErrRequest) {
			t.Errorf("sensitive %s: %v, want ErrRequest", s, err)
		}
	}
}

// TestSEC_EXP_1_AttackRowCountedL: one person with three diagnoses makes a
// class look 3-diverse when l counts rows; counted in persons it is not.
func TestSEC_EXP_1_AttackRowCountedL(t *testing.T) {
	rows := []string{"p1,M,A", "p1,M,B", "p1,M,C"}
	for i := 2; i <= 6; i++ {
		rows = append(rows, fmt.Sprintf("p%d,M,A", i))
	}
	tb := tab("p,sex,dx", rows...)
	rep, err := export.Check(context.Background(), tb, export.Request{QuasiIdentifiers: []string{"sex"}, Sensitive: []string{"dx"}, PersonColumn: "p", K: 5, L: 3, Reference: ref})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pass || rep.Inference.Pass || rep.DistinctL != 1 {
		t.Fatalf("l counted in rows: distinct l %d, pass %v", rep.DistinctL, rep.Pass)
	}
	if rep.EntropyL > 1.6 {
		t.Fatalf("entropy l %.2f: one person's extra rows must not add diversity", rep.EntropyL)
	}
}

// spearman returns the rank correlation of two equally long series of
// distinct values.
func spearman(x, y []float64) float64 {
	rank := func(v []float64) []float64 {
		idx := make([]int, len(v))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
		r := make([]float64, len(v))
		for k, i := range idx {
			r[i] = float64(k)
		}
		return r
	}
	rx, ry := rank(x), rank(y)
	n := float64(len(x))
	var d2 float64
	for i := range rx {
		d2 += (rx[i] - ry[i]) * (rx[i] - ry[i])
	}
	return 1 - 6*d2/(n*(n*n-1))
}

// TestSEC_EXP_1_AttackUnshuffledOutput: released rows kept the health
// table's order (Spearman 1.0); now they are shuffled with a fresh key.
func TestSEC_EXP_1_AttackUnshuffledOutput(t *testing.T) {
	var rows []string
	for i := range 2000 {
		rows = append(rows, fmt.Sprintf("p%d,%s,%d", i, []string{"M", "F"}[i%2], i))
	}
	tb := tab("p,sex,seq", rows...)
	rep, err := export.Check(context.Background(), tb, export.Request{QuasiIdentifiers: []string{"sex"}, Sensitive: []string{"seq"}, PersonColumn: "p", K: 5, Reference: ref})
	if err != nil {
		t.Fatal(err)
	}
	release := func() []float64 {
		var pos []float64
		export.Apply(context.Background(), tb, rep, func(v []string) error {
			f, _ := strconv.ParseFloat(v[1], 64)
			pos = append(pos, f)
			return nil
		})
		return pos
	}
	a, b := release(), release()
	order := make([]float64, len(a))
	for i := range order {
		order[i] = float64(i)
	}
	rho := spearman(order, a)
	t.Logf("Spearman(health order, released order) = %.4f", rho)
	if math.Abs(rho) > 0.1 {
		t.Fatalf("released order follows the health table: Spearman %.3f", rho)
	}
	if slices.Equal(a, b) {
		t.Fatal("two releases in the same order: the shuffle key is not fresh")
	}
}

// TestSEC_EXP_1_ExportScopedPseudonyms: pseudonyms of a release are
// consistent inside it, differ between releases, and are never the
// warehouse's.
func TestSEC_EXP_1_ExportScopedPseudonyms(t *testing.T) {
	tb := cohort(60, 3)
	req := export.Request{QuasiIdentifiers: []string{"sex_code"}, Sensitive: []string{"diagnosis"}, PersonColumn: "pseudonym", K: 5, ExportPseudonyms: true, Reference: ref}
	rep, err := export.Check(context.Background(), tb, req)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OutputColumns[len(rep.OutputColumns)-1] != export.ExportPseudonymColumn {
		t.Fatalf("columns %v", rep.OutputColumns)
	}
	set := func() map[string]bool {
		m := map[string]bool{}
		export.Apply(context.Background(), tb, rep, func(v []string) error {
			m[v[len(v)-1]] = true
			return nil
		})
		return m
	}
	a, b := set(), set()
	if len(a) != 60 {
		t.Fatalf("%d export pseudonyms for 60 persons", len(a))
	}
	for p := range a {
		if b[p] || strings.HasPrefix(p, "P0") {
			t.Fatal("export pseudonyms linkable across releases or equal to the warehouse's")
		}
	}
}

// TestSEC_EXP_1_FloorsOnlyTighten: k, l, t and the suppression limit
// default to the policy's floors; asking for less is refused.
func TestSEC_EXP_1_FloorsOnlyTighten(t *testing.T) {
	g := gate()
	g.Floors.T = 0.3
	cols := []string{"pseudonym", "sex_code", "diagnosis"}
	for name, req := range map[string]export.Request{
		"k": {K: 2}, "l": {L: 1}, "t": {T: 0.5}, "suppression": {MaxSuppression: 0.2},
	} {
		req.PersonColumn = "pseudonym"
		var le *export.LoosenError
		if _, err := g.Prepare(cols, req); !errors.As(err, &le) || !errors.Is(err, export.ErrLoosen) {
			t.Errorf("%s: %v, want a LoosenError", name, err)
		}
	}
	req, err := g.Prepare(cols, export.Request{PersonColumn: "pseudonym", K: 10, T: 0.1})
	if err != nil || req.K != 10 || req.L != 2 || req.T != 0.1 || req.MaxSuppression != 0.05 {
		t.Fatalf("tightened request: %+v %v", req, err)
	}
}
