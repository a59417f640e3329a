package indicators_test

import (
	"context"
	"fmt"

	"hdw/configs"
	"hdw/indicators"
)

// A count of CT patients per department, with differential privacy: the
// department of 2 persons is never released, the other comes with its
// noise parameters and confidence interval.
func ExampleCompute() {
	var rows table
	for i := range 300 {
		dep := "75"
		if i < 2 {
			dep = "2A"
		}
		rows = append(rows, row{person: fmt.Sprint("P", i), cells: map[string]string{"department": dep, "modality": "CT"}})
	}
	plan, err := indicators.Compile(indicators.Definition{Name: "ct-by-department", Measure: indicators.Count,
		GroupBy: []string{"department"}, Filter: "modality == 'CT'"}, configs.DefaultDictionary())
	if err != nil {
		panic(err)
	}
	res, _, err := indicators.Compute(context.Background(), plan, rows, nil)
	if err != nil {
		panic(err)
	}
	for _, v := range res.Values {
		fmt.Println(v.Group, v.Value > 250 && v.Value < 350, *v.Lower <= v.Value && v.Value <= *v.Upper)
	}
	fmt.Println(res.Params.Noise, res.Params.Epsilon)
	// Output:
	// [75] true true
	// laplace 0.5
}
