// Package policy owns the sealed warehouse policy: the rules that limit
// the people who use the warehouse (export floors k, l, t and suppression,
// re-identification rate limits, retention periods and the event they run
// from, the four-eyes rule, what a justified release needs, the lock-out
// threshold, the period of the review of people's access and its grace,
// SEC-HAB-5). Who sets the rules is not who is ruled by them (ARCHITECTURE
// §5, §9): the policy is written by the admin profile only, versioned,
// chained (each version names the hash of the one before) and signed with
// the warehouse's policy seal key, which no other profile holds; every
// reader verifies the signature and the chain before using it, so a policy
// file edited by hand is refused ([ErrTampered]).
//
// # Tightening only
//
// Flags, the configuration file and the environment may only tighten the
// policy: [Policy.Tighten] applies such overrides and returns a
// [LoosenError] for any that would loosen it; the command refuses it and
// audits the refusal.
//
// # Purity
//
// The package is pure (internal/layers): it parses, encodes, signs through
// a [Signer] and verifies records; the caller reads and writes them.
package policy
