// Package export owns the anonymity gate (SEC-EXP-1..5): it generalizes a
// table, suppresses records within a limit, and checks the three G29
// criteria — singling out (k-anonymity per person), linkability (no
// pseudonym, UID, token, free text, exact date or per-person unique
// value), inference (distinct and entropy l-diversity, t-closeness) — plus
// a prosecutor re-identification risk. The Report maps each criterion to
// its evidence; Pass is true only if every check passes.
//
// The engine streams: Check makes two passes over a RowSource (counting
// classes, then deciding suppression) and keeps only per-class counters,
// never the rows.
package export
