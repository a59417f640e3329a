// Package pseudo owns pseudonymization (SEC-PSE-1..3, SEC-REI-1): the
// canonical identity basis of a person, NIR validation, and keyed
// HMAC-SHA256 pseudonyms per domain.
//
// # Basis
//
// The basis of a patient pseudonym is the NIR when present ("NIR:" + the 15
// characters, upper case, no spaces), else the normalized last name, first
// name, birth date and sex ("ID:" + LAST|FIRST|YYYY-MM-DD|SEX, upper case,
// accents and punctuation removed, spaces collapsed). The DPO recomputes it
// from the same fields (SEC-REI-1). Known-answer vectors are in
// testdata/vectors/pseudo.json; other implementations must pass them.
//
// # Pseudonyms
//
// A pseudonym is the first 20 bytes of HMAC-SHA256(key, domain || 0x00 ||
// basis), encoded as 32 characters of lower-case base32 without padding.
// Keys are random 256-bit secrets, never derived from data (package keys);
// the domain separates uses of one key ("patient", "professional",
// "import", "uid", "dateshift", "workspace", "opposition").
//
// The package is pure: no I/O, no environment.
package pseudo
