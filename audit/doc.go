// Package audit owns hdw's tamper-evident audit trail (SEC-DAY-1..4,
// SRS-055..065): one event per operation, hash-chained JSON lines in
// write-once segments sealed with an HMAC under the audit key, a verifier
// that names the first broken, missing, reordered or edited event, a
// review of anomalies and retention.
//
// # Segments
//
// Every command run (a session) writes:
//
//	audit/open/<id>.json          the opening event, written before the command acts (SRS-065)
//	audit/segments/<id>.jsonl     the session's events, written once when it closes
//
// The first line of a segment is a header naming the digest of the latest
// segment the writer saw (prev_segment); every event line carries seq and
// the SHA-256 of the previous line (prev); the last line is the HMAC-SHA256
// of everything before it under the audit key (keys.Audit), which every
// profile may use and none may change. Segments are written with
// PutIfAbsent (never overwritten), made read-only on a local folder, and
// put under S3 Object Lock when configured.
//
// Concurrent writers (sharded ingests on several machines) never collide:
// ids are unique, and two segments may name the same predecessor (the
// chain is a DAG). Verify reports a segment whose predecessor is missing
// (a deleted segment) and an opening event without its segment (a
// deleted segment, or a crash: both need a human look).
//
// Events never hold identifying values: [Event.Check] refuses values
// shaped like a NIR, an email or a phone number.
package audit
