package rights_test

import (
	"fmt"

	"hdw/rights"
)

func ExampleParseExpr() {
	e, err := rights.ParseExpr("diagnosis like 'C50%' AND birth_year >= 1960 or modality IN ('MR')")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.String())
	fmt.Println(e.Columns())
	fmt.Println(e.Eval(map[string]string{"diagnosis": "C50.9", "birth_year": "1962"}))
	fmt.Println(e.Eval(map[string]string{"diagnosis": "C50.9", "birth_year": "1950"}))
	_, err = rights.ParseExpr("diagnosis = ")
	fmt.Println(err)
	// Output:
	// ((diagnosis like 'C50%' and birth_year >= 1960) or modality in ('MR'))
	// [diagnosis birth_year modality]
	// true
	// false
	// criteria: at 12: expected a value instead of end of expression
}
