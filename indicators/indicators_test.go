package indicators_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"hdw/configs"
	"hdw/indicators"
	"hdw/keys/keystest"
	"hdw/objstore/storetest"
)

// row is one synthetic health record.
type row struct {
	person string
	cells  map[string]string
}

// table is an in-memory [indicators.Rows].
type table []row

func (t table) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	vals := make([]string, len(cols))
	for _, r := range t {
		for i, c := range cols {
			vals[i] = r.cells[c]
		}
		if err := fn(r.person, vals); err != nil {
			return err
		}
	}
	return nil
}

type testMAC []byte

func (k testMAC) Sum(_ context.Context, data []byte) ([]byte, error) {
	m := hmac.New(sha256.New, k)
	m.Write(data)
	return m.Sum(nil), nil
}

func dict(t testing.TB) *configs.Dictionary {
	t.Helper()
	return configs.DefaultDictionary()
}

func compile(t testing.TB, d indicators.Definition) *indicators.Plan {
	t.Helper()
	p, err := indicators.Compile(d, dict(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// persons returns n persons of department dep, each with visits rows.
func persons(prefix, dep string, n, visits int, extra map[string]string) table {
	var t table
	for i := range n {
		for v := range visits {
			cells := map[string]string{"department": dep, "modality": "CT", "birth_year": "1960",
				"sex_code": "F", "visit_date": fmt.Sprintf("2026-%02d-10", 1+v%12), "weight_kg": "70"}
			for k, x := range extra {
				cells[k] = x
			}
			t = append(t, row{person: fmt.Sprintf("%s-%04d", prefix, i), cells: cells})
		}
	}
	return t
}

func groupsOf(r *indicators.Result) map[string]indicators.Value {
	m := map[string]indicators.Value{}
	for _, v := range r.Values {
		m[strings.Join(v.Group, "|")+"#"+v.Bucket] = v
	}
	return m
}

// SEC-EXP-4: a group that exists because of one person (or of fewer than
// the small-cell threshold) never appears, however many rows that person
// has and whatever the noise draws, over many runs.
func TestSEC_EXP_4_SinglePersonGroupNeverAppears(t *testing.T) {
	data := persons("p", "75", 60, 2, nil)
	data = append(data, persons("solo", "2A", 1, 5000, nil)...) // one person, 5,000 visits
	data = append(data, persons("few", "48", indicators.DefaultMinPersons-1, 3, nil)...)
	for _, measure := range []string{indicators.Count, indicators.Histogram, indicators.Mean} {
		d := indicators.Definition{Name: "by-dep", Measure: measure, GroupBy: []string{"department"}, Epsilon: 2}
		if measure != indicators.Count {
			d.Column, d.Lower, d.Upper, d.Buckets = "weight_kg", 0, 200, []float64{0, 50, 100, 200}
		}
		p := compile(t, d)
		for i := range 300 {
			res, st, err := indicators.Compute(context.Background(), p, data, nil)
			if err != nil {
				t.Fatal(err)
			}
			g := groupsOf(res)
			for k := range g {
				if strings.HasPrefix(k, "2A") || strings.HasPrefix(k, "48") {
					t.Fatalf("%s run %d: group %s released (%d persons)", measure, i, k, st.Persons)
				}
			}
			if len(g) == 0 {
				t.Fatalf("%s run %d: the 60-person group was not released", measure, i)
			}
		}
	}
}

// meanRelease computes p over data 200 times and returns the mean of the
// first released value; check, when not nil, sees each run's stats.
func meanRelease(t *testing.T, p *indicators.Plan, data table, check func(indicators.Stats)) float64 {
	t.Helper()
	const runs = 200
	var sum float64
	for range runs {
		res, st, err := indicators.Compute(context.Background(), p, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if check != nil {
			check(st)
		}
		sum += res.Values[0].Value
	}
	return sum / runs
}

// SEC-EXP-4: per-person bounds: a person with many visits counts at most
// MaxRowsPerGroup times in a group and in at most MaxGroupsPerPerson groups.
func TestSEC_EXP_4_PersonContributionBounded(t *testing.T) {
	base := persons("p", "75", 40, 1, nil)
	heavy := persons("heavy", "75", 1, 10_000, map[string]string{"weight_kg": "100000"})
	// The heavy person's visits span 12 months: 12 groups when grouped by month.
	data := append(append(table{}, base...), heavy...)

	t.Run("count", func(t *testing.T) {
		p := compile(t, indicators.Definition{Name: "visits", Measure: indicators.Count, Epsilon: 2, MaxRowsPerGroup: 3})
		mean := meanRelease(t, p, data, func(st indicators.Stats) {
			if st.Dropped != 10_000-3 {
				t.Fatalf("dropped %d rows, want %d", st.Dropped, 10_000-3)
			}
		})
		// Exact bounded count: 40 + 3. Unbounded it would be 10,040.
		if math.Abs(mean-43) > 2 {
			t.Fatalf("mean released count %.1f, want about 43 (40 persons + 3 of the heavy person's rows)", mean)
		}
	})
	t.Run("sum clamped", func(t *testing.T) {
		p := compile(t, indicators.Definition{Name: "weight", Measure: indicators.Sum, Column: "weight_kg",
			Lower: 0, Upper: 200, Epsilon: 2})
		mean := meanRelease(t, p, data, nil)
		// 40 x 70 + one value of the heavy person clamped to 200.
		if math.Abs(mean-3000) > 100 {
			t.Fatalf("mean released sum %.0f, want about 3000", mean)
		}
	})
	t.Run("groups per person", func(t *testing.T) {
		p := compile(t, indicators.Definition{Name: "monthly", Measure: indicators.Count,
			GroupBy: []string{"visit_date:month"}, Epsilon: 2, MaxGroupsPerPerson: 2})
		_, st, err := indicators.Compute(context.Background(), p, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The heavy person keeps 2 of 12 months with one row each.
		if st.Dropped != 10_000-2 {
			t.Fatalf("dropped %d rows, want %d", st.Dropped, 10_000-2)
		}
	})
}

// SEC-EXP-4, SEC-EXP-5: the differencing attack. An attacker counts the
// persons with diagnosis C50, with and without a filter that leaves out
// one planted person (the only one born in 1931), and guesses the planted
// person's diagnosis from the difference. With the budget, each attacker
// gets four runs (two pairs) before being refused; their success over many
// trials stays within what epsilon allows: a test of a secret bit from
// outputs that are (eps, delta)-DP succeeds with probability at most
// (e^eps + delta) / (1 + e^eps). Without the budget, averaging many runs
// would reveal it: the budget is what stops the attack.
func TestSEC_EXP_4_DifferencingAttack(t *testing.T) {
	ctx := context.Background()
	rng := mrand.New(mrand.NewPCG(1, 2))
	var pop table
	for i := range 160 {
		diag := "I10"
		if rng.IntN(2) == 0 {
			diag = "C50"
		}
		for range 1 + rng.IntN(3) {
			pop = append(pop, row{person: fmt.Sprintf("p-%04d", i), cells: map[string]string{
				"diagnosis": diag, "birth_year": strconv.Itoa(1940 + rng.IntN(50)), "department": "75"}})
		}
	}
	withPlanted := func(c50 bool) table {
		diag := "I10"
		if c50 {
			diag = "C50"
		}
		out := append(table{}, pop...)
		for range 4 { // the planted person's four visits
			out = append(out, row{person: "planted", cells: map[string]string{"diagnosis": diag, "birth_year": "1931", "department": "75"}})
		}
		return out
	}
	all := compile(t, indicators.Definition{Name: "c50", Measure: indicators.Count, Filter: "diagnosis == 'C50'"})
	without := compile(t, indicators.Definition{Name: "c50-but-one", Measure: indicators.Count, Filter: "diagnosis == 'C50' && birth_year != 1931"})
	eps := all.Def.Epsilon
	st := storetest.Local(t, t.TempDir())
	ledger := &indicators.Ledger{St: st, MAC: testMAC("k")}
	budget := indicators.DefaultBudget
	guess := func(diffs []float64) bool {
		s := 0.0
		for _, d := range diffs {
			s += d
		}
		return s/float64(len(diffs)) > 0.5
	}

	const trials = 200
	wins := 0
	for trial := range trials {
		secret := rng.IntN(2) == 0
		data := withPlanted(secret)
		attacker := fmt.Sprintf("LH-USR-attacker-%d", trial)
		var diffs []float64
		runs := 0
		for {
			// One pair: both runs are charged before either is computed.
			if _, err := ledger.Charge(ctx, attacker, budget, "c50", "r", eps, all.Def.Delta); err != nil {
				var be *indicators.BudgetError
				if !errors.As(err, &be) || !errors.Is(err, indicators.ErrBudgetExhausted) {
					t.Fatalf("trial %d: %v", trial, err)
				}
				break
			}
			if _, err := ledger.Charge(ctx, attacker, budget, "c50-but-one", "r", eps, without.Def.Delta); err != nil {
				break
			}
			runs += 2
			a, _, err := indicators.Compute(ctx, all, data, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := indicators.Compute(ctx, without, data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Values) != 1 || len(b.Values) != 1 {
				t.Fatalf("the whole population's group was not released")
			}
			diffs = append(diffs, a.Values[0].Value-b.Values[0].Value)
		}
		wantRuns := int(math.Floor(budget.Epsilon/eps + 1e-9))
		if runs != wantRuns {
			t.Fatalf("trial %d: %d runs before refusal, want %d (budget %g, epsilon %g per run)", trial, runs, wantRuns, budget.Epsilon, eps)
		}
		if guess(diffs) == secret {
			wins++
		}
	}
	total := budget.Epsilon
	bound := (math.Exp(total) + budget.Delta) / (1 + math.Exp(total))
	rate := float64(wins) / trials
	margin := 3 * math.Sqrt(bound*(1-bound)/trials)
	t.Logf("differencing attack with the budget: success %.3f over %d trials (bound for epsilon %g: %.3f, +3 sigma %.3f)", rate, trials, total, bound, margin)
	if rate > bound+margin {
		t.Fatalf("attack success %.3f above the bound %.3f allowed by epsilon %g", rate, bound, total)
	}

	// Without a budget the same attacker runs 20 pairs at the largest
	// epsilon a run may have, and averages them.
	const free, pairs = 30, 20
	allMax := compile(t, indicators.Definition{Name: "c50", Measure: indicators.Count, Filter: "diagnosis == 'C50'", Epsilon: indicators.MaxEpsilon})
	withoutMax := compile(t, indicators.Definition{Name: "c50-but-one", Measure: indicators.Count, Filter: "diagnosis == 'C50' && birth_year != 1931", Epsilon: indicators.MaxEpsilon})
	freeWins := 0
	for range free {
		secret := rng.IntN(2) == 0
		data := withPlanted(secret)
		var diffs []float64
		for range pairs {
			a, _, _ := indicators.Compute(ctx, allMax, data, nil)
			b, _, _ := indicators.Compute(ctx, withoutMax, data, nil)
			diffs = append(diffs, a.Values[0].Value-b.Values[0].Value)
		}
		if guess(diffs) == secret {
			freeWins++
		}
	}
	t.Logf("without a budget (%d pairs, epsilon %g spent): success %.3f", pairs, 2*pairs*indicators.MaxEpsilon, float64(freeWins)/free)
	if float64(freeWins)/free < 0.8 {
		t.Fatalf("the unbudgeted attack should succeed (it shows what the budget prevents), got %.2f", float64(freeWins)/free)
	}
}

func TestCompileRefuses(t *testing.T) {
	cases := map[string]indicators.Definition{
		"identifying column":  {Name: "a", Measure: indicators.Count, GroupBy: []string{"last_name"}},
		"free text":           {Name: "a", Measure: indicators.Count, GroupBy: []string{"notes"}},
		"exact date":          {Name: "a", Measure: indicators.Count, GroupBy: []string{"visit_date"}},
		"unknown column":      {Name: "a", Measure: indicators.Count, GroupBy: []string{"nope"}},
		"epsilon too large":   {Name: "a", Measure: indicators.Count, Epsilon: 5},
		"threshold too small": {Name: "a", Measure: indicators.Count, MinPersons: 1},
		"mean without bounds": {Name: "a", Measure: indicators.Mean, Column: "weight_kg"},
		"text measure":        {Name: "a", Measure: indicators.Sum, Column: "diagnosis", Lower: 0, Upper: 1},
		"bad filter":          {Name: "a", Measure: indicators.Count, Filter: "nir == '1'"},
		"bad name":            {Name: "A/../b", Measure: indicators.Count},
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := indicators.Compile(d, dict(t)); err == nil {
				t.Fatal("compiled")
			}
		})
	}
}

func TestQuantilesAndHistogram(t *testing.T) {
	var data table
	for i := range 400 {
		data = append(data, row{person: fmt.Sprint(i), cells: map[string]string{"weight_kg": strconv.Itoa(40 + i%80), "sex_code": "F"}})
	}
	q := compile(t, indicators.Definition{Name: "q", Measure: indicators.Quantiles, Column: "weight_kg", Lower: 0, Upper: 200,
		Ranks: []float64{0.5}, GroupBy: []string{"sex_code"}, Epsilon: 2})
	res, _, err := indicators.Compute(context.Background(), q, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Values) != 1 || math.Abs(res.Values[0].Value-80) > 15 {
		t.Fatalf("median %+v", res.Values)
	}
	h := compile(t, indicators.Definition{Name: "h", Measure: indicators.Histogram, Column: "weight_kg",
		Buckets: []float64{0, 60, 80, 200}, Epsilon: 2})
	res, _, err = indicators.Compute(context.Background(), h, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Values) != 3 {
		t.Fatalf("histogram %+v", res.Values)
	}
	for _, v := range res.Values {
		if v.Lower == nil || *v.Lower > v.Value || *v.Upper < v.Value {
			t.Fatalf("confidence interval %+v", v)
		}
	}
}

// The filter's verdict cache selects exactly the rows the criterion selects.
func TestFilterSelectsExactly(t *testing.T) {
	var data table
	want := int64(0)
	for i := range 5000 {
		w, m := 40+i%80, []string{"CT", "MR", "US"}[i%3]
		if w > 80 && m == "CT" {
			want++
		}
		data = append(data, row{person: fmt.Sprint(i % 700), cells: map[string]string{"weight_kg": strconv.Itoa(w), "modality": m}})
	}
	p := compile(t, indicators.Definition{Name: "f", Measure: indicators.Count, Filter: "weight_kg > 80.5 && modality == 'CT'"})
	_, st, err := indicators.Compute(context.Background(), p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Matched != want {
		t.Fatalf("matched %d rows, want %d", st.Matched, want)
	}
}

// Every measure runs with Gaussian noise too, its delta split between the
// group selection and the value.
func TestGaussianNoise(t *testing.T) {
	data := persons("p", "75", 400, 2, nil)
	for _, m := range []string{indicators.Count, indicators.Sum, indicators.Mean, indicators.Quantiles, indicators.Histogram} {
		d := indicators.Definition{Name: "g", Measure: m, Noise: indicators.Gaussian, Epsilon: 1, Delta: 1e-5, GroupBy: []string{"department"}}
		if m != indicators.Count {
			d.Column, d.Lower, d.Upper, d.Buckets = "weight_kg", 0, 200, []float64{0, 100, 200}
		}
		res, _, err := indicators.Compute(context.Background(), compile(t, d), data, nil)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if len(res.Values) == 0 {
			t.Fatalf("%s: nothing released for 400 persons", m)
		}
		pr := res.Params
		if pr.SelectionDelta+pr.MeasureDelta > d.Delta*(1+1e-9) || pr.MeasureDelta == 0 {
			t.Fatalf("%s: delta split %g + %g for %g", m, pr.SelectionDelta, pr.MeasureDelta, d.Delta)
		}
	}
}

func TestGroupLabels(t *testing.T) {
	var data table
	for i := range 400 {
		data = append(data, row{person: fmt.Sprint(i), cells: map[string]string{"visit_date": "2026-03-04", "birth_year": "1964"}})
	}
	for groups, want := range map[string]string{"visit_date:month,birth_year:band:10": "2026-03|1960-1969", "visit_date:year": "2026"} {
		p := compile(t, indicators.Definition{Name: "l", Measure: indicators.Count, GroupBy: strings.Split(groups, ","), Epsilon: 1})
		res, _, err := indicators.Compute(context.Background(), p, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Values) != 1 || strings.Join(res.Values[0].Group, "|") != want {
			t.Fatalf("%s: %+v", groups, res.Values)
		}
	}
}

// failing yields rows then fails: the scan's error is Compute's.
type failing struct{ n int }

var errSource = errors.New("source failed")

func (f failing) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	vals := make([]string, len(cols))
	for i := range f.n {
		if err := fn(fmt.Sprint(i), vals); err != nil {
			return err
		}
	}
	return errSource
}

func TestComputeErrors(t *testing.T) {
	p := compile(t, indicators.Definition{Name: "e", Measure: indicators.Count})
	if _, _, err := indicators.Compute(context.Background(), p, failing{10_000}, nil); !errors.Is(err, errSource) {
		t.Fatalf("source error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := indicators.Compute(ctx, p, failing{200_000}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	_, st, err := indicators.Compute(context.Background(), p, table(persons("p", "75", 9000, 1, nil)), nil)
	if err != nil || st.Rows != 9000 || st.Persons != 9000 {
		t.Fatalf("rows %d persons %d: %v", st.Rows, st.Persons, err)
	}
}

// newSigner returns an operator id signing with a fresh key, its public key
// added to dir.
func newSigner(t *testing.T, id string, dir keystest.Directory) keystest.Signer {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir[id] = pub
	return keystest.Signer{ID: id, Key: priv}
}
