// Package configs owns hdw's configuration: the YAML config file
// ([Parse], precedence defaults < file < env < flags, then [Config.Validate])
// and the warehouse data dictionary ([Dictionary], the embedded default in
// dictionary.yaml), which decides the category of every manifest column
// (CNIL 2021-118 §3.2.2.1).
package configs
