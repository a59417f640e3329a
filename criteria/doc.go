// Package criteria compiles cohort and filter criteria (workspace --where,
// recontact --criteria: SEC-REI-2 medical criteria) written in CEL, the
// Common Expression Language of Kubernetes admission policies and Google
// IAM conditions, against a typed schema built from the data dictionary.
//
// A criterion is type-checked before anything runs: a column that does not
// exist, a column outside the schema the caller allows, a comparison of the
// wrong type, or an enum value the dictionary does not list is an [*Error].
// Enum comparisons are exact against the dictionary's values and refused
// otherwise, so that a criterion never selects nothing silently because of
// a spelling.
//
// Column types: int (CEL int), float (double; compares with ints), date
// (timestamp; write date('2020-01-31')), enum and sex (string limited to the
// dictionary's values; sex is M, F or U), string. An empty cell of an int,
// float or date column makes the comparisons that read it false (like SQL's
// NULL): the row is not selected unless the rest of the criterion selects
// it.
//
// The older syntax (=, <>, and/or/not, in (...), like with % and _) is
// translated to CEL when the text does not compile as CEL; [Criterion.String]
// returns the CEL form, which is what callers store.
//
// The package is pure: no file, network or key access.
package criteria
