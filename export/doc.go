// Package export owns the anonymity gate (SEC-EXP-1..5): it generalizes a
// table, suppresses records within a limit, and checks the three G29
// criteria — singling out (k-anonymity per person), linkability (no
// pseudonym, UID, token, free text, exact date or per-person unique
// value), inference (distinct and entropy l-diversity, t-closeness) — plus
// a prosecutor re-identification risk. The Report maps each criterion to
// its evidence; Pass is true only if every check passes.
//
// The engine streams, out of core: Check counts with the table layer's
// counter (tables.Counter with Detail: keyed hashes of the generalized
// quasi-identifiers per class, distinct persons, rows and person-weighted
// sensitive values, spilled to disk past its memory budget) over typed
// record batches from a [RecordSource] ([HealthTable], [WorkspaceTable])
// or string batches built from a plain [RowSource]; a
// second pass finds the rows to suppress ([tables.Counter.ClassOf]), a
// second pass over the classes measures t. It never keeps the rows. Apply
// holds the released rows interned (4 bytes a cell) to shuffle them.
//
// # The gate is the dictionary's (issue 21)
//
// [Gate] imposes the data dictionary's quasi-identifiers (a request adds,
// never removes), refuses undeclared released columns, and makes the
// sealed policy's floors binding ([Floors], [LoosenError]). k, l and t
// count persons. Released rows are shuffled with a fresh key and carry no
// warehouse or workspace pseudonym (export-scoped ones at most). Each
// [Measure] names the G29 criterion it answers.
//
// # Records that cannot be forged
//
// An export's [Content] is bound by its hash to a chain of [Entry]
// records (request, decisions, releases, cancellations), each signed by
// the acting operator ([Signer]); [Verify] checks the chain against the
// operator [Directory] and the approval [Rules] (four eyes by operator
// identity, the approver role, a justification of substance and a second
// approver for the release of a failed export). [View] is the approver's
// view.
//
// # The workflow
//
// [Desk] is the whole release workflow over one warehouse, as one operator
// acts on it: Submit (gate, data under a key of its own, signed request;
// exports/ or quarantine/), Decide (four eyes, justification, second
// approver), Release (approved only, data hash checked), Cancel (an
// erasure), List and Open. It returns typed errors ([Refused], [ErrForged],
// [ErrNotFound], [ErrNotOperator]); the command line audits and prints.
// [HealthSource] and [WorkspaceSource] are the tables a request reads.
package export
