package criteria_test

import (
	"fmt"

	"hdw/criteria"
)

func ExampleCompile() {
	s := criteria.NewSchema(criteria.Column{Name: "diagnosis", Type: criteria.String},
		criteria.Column{Name: "birth_year", Type: criteria.Int},
		criteria.Column{Name: "modality", Type: criteria.Enum, Values: []string{"CT", "MR"}})
	c, err := criteria.Compile("diagnosis.startsWith('C50') && birth_year >= 1960 || modality in ['MR']", s)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Match(map[string]string{"diagnosis": "C50.9", "birth_year": "1962"}))
	fmt.Println(c.Match(map[string]string{"diagnosis": "C50.9", "birth_year": "1950"}))
	old, _ := criteria.Compile("diagnosis like 'C50%' and modality = 'CT'", s)
	fmt.Println(old)
	_, err = criteria.Compile("modality == 'ct'", s)
	fmt.Println(err)
	// Output:
	// true
	// false
	// diagnosis.matches("^(?s)C50.*$") && modality == "CT"
	// criteria: at 9: modality is an enum: "ct" is not one of its values (CT, MR; values are case-sensitive)
}
