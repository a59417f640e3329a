// Package keystest holds what tests of key providers share: [Conformance],
// the suite every [keys.Provider] must pass (the access table of
// [keys.Allowed] enforced for every profile and key, round trips, rotation,
// destruction), [Fake], an in-memory provider for other packages' unit
// tests, and [Derived], keys derived from fixed strings that several
// processes share (kill -9 tests, benchmarks), and an operator's [Signer]
// and a [Directory] of operators' public keys held in memory.
package keystest
