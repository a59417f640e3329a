package indicators_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"

	"hdw/indicators"
)

// genRows yields n synthetic rows of n/10 persons on the fly (one map
// reused: Rows callbacks must not keep it): 96 departments, 12 months,
// 4 modalities, weights 40-120 kg.
type genRows struct{ n int }

var (
	deps = func() []string {
		var d []string
		for i := 1; i <= 96; i++ {
			d = append(d, fmt.Sprintf("%02d", i))
		}
		return d
	}()
	months = func() []string {
		var m []string
		for i := 1; i <= 12; i++ {
			m = append(m, fmt.Sprintf("2026-%02d-15", i))
		}
		return m
	}()
	mods = []string{"CT", "MR", "US", "CR"}
)

func (g genRows) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	vals := make([]string, len(cols))
	persons := max(g.n/10, 1)
	names := make([]string, persons)
	for i := range names {
		names[i] = fmt.Sprintf("P%08d", i)
	}
	weights := make([]string, 81)
	for i := range weights {
		weights[i] = strconv.Itoa(40 + i)
	}
	gen := make([]func(i, p int) string, len(cols))
	for j, c := range cols {
		switch c {
		case "department":
			gen[j] = func(_, p int) string { return deps[p%len(deps)] }
		case "visit_date":
			gen[j] = func(i, _ int) string { return months[(i/persons)%12] }
		case "modality":
			gen[j] = func(i, p int) string { return mods[(i+p)%4] }
		case "weight_kg":
			gen[j] = func(i, p int) string { return weights[(i*31+p)%81] }
		case "sex_code":
			gen[j] = func(_, p int) string { return []string{"F", "M"}[p%2] }
		default:
			gen[j] = func(int, int) string { return "" }
		}
	}
	for i := range g.n {
		p := (i * 7919) % persons
		for j := range cols {
			vals[j] = gen[j](i, p)
		}
		if err := fn(names[p], vals); err != nil {
			return err
		}
	}
	return nil
}

func benchCompute(b *testing.B, d indicators.Definition) {
	p := compile(b, d)
	const n = 1_000_000
	b.ReportAllocs()
	b.SetBytes(n) // "bytes" are rows: MB/s reads as M rows/s
	for b.Loop() {
		if _, _, err := indicators.Compute(context.Background(), p, genRows{n}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScan1M is the row generator alone: the floor of the others.
func BenchmarkScan1M(b *testing.B) {
	b.SetBytes(1_000_000)
	for b.Loop() {
		genRows{1_000_000}.Scan(context.Background(), []string{"department", "visit_date"}, func(string, []string) error { return nil })
	}
}

func BenchmarkCount1M(b *testing.B) {
	benchCompute(b, indicators.Definition{Name: "b", Measure: indicators.Count, GroupBy: []string{"department", "visit_date:month"},
		MaxGroupsPerPerson: 12, MaxRowsPerGroup: 2})
}

func BenchmarkCountFiltered1M(b *testing.B) {
	benchCompute(b, indicators.Definition{Name: "b", Measure: indicators.Count, GroupBy: []string{"department"},
		Filter: "modality == 'CT' && sex_code == 'F'"})
}

func BenchmarkMean1M(b *testing.B) {
	benchCompute(b, indicators.Definition{Name: "b", Measure: indicators.Mean, Column: "weight_kg", Lower: 0, Upper: 200,
		GroupBy: []string{"department"}, MaxRowsPerGroup: 5})
}

func BenchmarkQuantiles1M(b *testing.B) {
	benchCompute(b, indicators.Definition{Name: "b", Measure: indicators.Quantiles, Column: "weight_kg", Lower: 0, Upper: 200,
		GroupBy: []string{"sex_code"}, Ranks: []float64{0.1, 0.5, 0.9}, MaxRowsPerGroup: 5})
}

// TestAccuracyByGroupSize measures the relative error of released counts
// and means at the default epsilon, per group size, and how often a group
// of that size is released (README, "Indicators"). Run with -v to print.
func TestAccuracyByGroupSize(t *testing.T) {
	sizes := []int{20, 40, 60, 100, 300, 1000, 10000}
	var data table
	for gi, n := range sizes {
		for i := range n {
			data = append(data, row{person: fmt.Sprintf("g%d-%d", gi, i), cells: map[string]string{
				"department": fmt.Sprintf("%02d", gi+1), "weight_kg": strconv.Itoa(50 + i%50)}})
		}
	}
	const runs = 200
	for _, m := range []string{indicators.Count, indicators.Mean} {
		d := indicators.Definition{Name: "acc", Measure: m, GroupBy: []string{"department"}}
		if m == indicators.Mean {
			d.Column, d.Lower, d.Upper = "weight_kg", 0, 200
		}
		p := compile(t, d)
		released := make([]int, len(sizes))
		relErr := make([]float64, len(sizes))
		for range runs {
			res, _, err := indicators.Compute(context.Background(), p, data, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range res.Values {
				gi, _ := strconv.Atoi(v.Group[0])
				gi--
				exact := float64(sizes[gi])
				if m == indicators.Mean {
					exact = 74.5 // 50..99, evenly (groups are multiples of 50, else close)
					if sizes[gi]%50 != 0 {
						s := 0.0
						for i := range sizes[gi] {
							s += float64(50 + i%50)
						}
						exact = s / float64(sizes[gi])
					}
				}
				released[gi]++
				relErr[gi] += math.Abs(v.Value-exact) / exact
			}
		}
		t.Logf("%s at epsilon %g (delta %g), %d runs:", m, indicators.DefaultEpsilon, indicators.DefaultDelta, runs)
		for gi, n := range sizes {
			e := math.NaN()
			if released[gi] > 0 {
				e = relErr[gi] / float64(released[gi])
			}
			t.Logf("  group of %6d persons: released %5.1f%%, mean relative error %.4f", n, 100*float64(released[gi])/runs, e)
		}
		if released[len(sizes)-1] != runs || relErr[len(sizes)-1]/runs > 0.01 {
			t.Errorf("%s: a 10,000-person group must always be released within 1%%", m)
		}
	}
}
