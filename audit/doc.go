// Package audit owns hdw's tamper-evident audit trail (SEC-DAY-1..4,
// SRS-055..065, SRS-089, SRS-091; issue 22): one event per operation of
// every command, hash-chained JSON lines in write-once segments sealed with
// a MAC under the audit key ([keys.Audit]), event payloads encrypted at rest
// under the audit store key ([keys.AuditStore], [Options.Sealer]) and
// signed by the acting operator ([Options.Signer]), the whole trail as an
// RFC 6962 Merkle tree with admin-signed checkpoints ([WriteCheckpoint],
// [VerifyCheckpoints]), a verifier that names the first broken, missing,
// reordered or edited event ([Verify], [VerifyOpen], [VerifySigned]), the
// authentication records and lock-out of failed unlocks ([Gate]), a review
// of anomalies ([Review]) and retention ([Retention]). The trail is its own append-only sink, not
// the debug log; storage goes through [objstore.Store] and the MAC through
// the consumer-declared [MAC] interface ([HMAC] locally, Vault transit
// later).
//
// # Layout
//
// Every command run is a session with a random id
// (<UTC time>-<16 hex digits>). Under the warehouse root:
//
//	audit/heads/<n>                    the session's place in the global order (12 digits)
//	audit/segments/<id>/<part>.jsonl   the session's events, in parts 000000, 000001, ...
//	audit/retention/<floor>            what retention removed on purpose
//
// Every object is written once (PutIfAbsent; S3 Object Lock through
// [Locker] when [Options.LockMode] is set; chmod 0444 on a local folder)
// and never rewritten.
//
// # Chaining
//
// A head is one JSON line {n, segment, prev, opened} and a seal line; prev
// is the SHA-256 of head n-1. [Open] claims the first free n with
// PutIfAbsent: concurrent writers (goroutines, sharded ingests on several
// machines against one S3 warehouse) race for n, the loser takes n+1, so
// no two sessions ever share a head and the heads form one chain.
//
// A segment (part) is a header line {segment, part, version, head, prev,
// written}, event lines and a seal line. The header's prev is the SHA-256
// of the session's head (part 0) or of the previous part (part k); every
// event line carries seq (per session, from 1, continuous across parts)
// and prev, the SHA-256 of the line before it; the seal line {prev, mac}
// carries the hash of the last event line and the MAC of every byte
// before it. Lines are canonical JSON (the parser re-encodes each line and
// refuses any byte of difference), so an edit is never "harmless".
//
// What [Verify] catches: an edited line (the next line's link breaks: the
// report names the edited line; an edit of the last event breaks the seal's
// link), a deleted event (a seq gap), reordered events (a seq found later
// in the part), a cut segment (no seal), a forged or re-sealed segment
// (bad MAC), a deleted part (a part number gap and a broken header link),
// a deleted session (its head points to nothing), a deleted head (a gap in
// the heads, or the session becomes "unlinked" when the newest head is
// deleted), a session whose last parts were deleted (no session.close
// event after [OpenGrace]). A session opening while Verify runs (a head
// without segments for less than [HeadGrace]) is listed as open, not as
// deleted. What no trail can catch without an outside
// anchor: removing the newest head and its whole session together; S3
// Object Lock (COMPLIANCE mode) closes that hole on S3, and an operator
// may copy the newest head number elsewhere (e.g. with each review).
//
// # Sealed payloads, signatures, checkpoints (issue 22)
//
// A session opened with a [Sealer] writes [SealedVersion] segments: the
// header carries the session's AES-256 data key wrapped by the audit store
// key (every profile wraps; admin and dpo unwrap), each event line carries
// seq, time, prev, end and the AES-256-GCM sealed event bound to its
// session and seq, and, with a [Options.Signer], by and sig (the
// operator's ed25519 signature). Chains, seals and the tree cover the
// ciphertext, so verification needs no decryption key.
//
// The MAC key is held by every profile, so the MAC chain alone only shows
// accidents. The checkpoints carry the trust: [WriteCheckpoint] (admin)
// hashes every head and segment object of the closed prefix of the trail
// into an RFC 6962 tree and signs its size and root as a C2SP signed note
// with the checkpoint key only the admin holds; [VerifyCheckpoints] checks
// the trail against every stored and witnessed checkpoint (truncated tail,
// rewritten object named from the leaf list, forged signature, two
// inconsistent checkpoints).
//
// # Authentication records (SRS-089)
//
// A failing unlock holds no key, so it writes an [AuthRecord] under
// audit/auth/<subject>/ itself; [Gate] counts consecutive failures, delays
// the next attempt progressively and locks out at the threshold until an
// unlock record.
//
// # Write before act (SRS-065)
//
// [Open] writes the head and part 0 (the session.open event) before it
// returns; if either write fails it returns an error wrapping [ErrSink] and
// the command must not act. With the default [Options.Batch] of 1, every
// [Log.Append] writes its event as a new part before it returns, so an
// event is durable before the operation it records proceeds, and a crash
// loses nothing already appended: the session then lacks its
// session.close event and shows as unclosed. A larger batch trades that
// for fewer objects; callers then call [Log.Flush] before an irreversible
// act. Any write error is sticky: every later call fails.
//
// # Events
//
// An [Event] holds time (UTC, RFC 3339 with milliseconds), operator (a
// stable id such as LH-SVC-<uuid> or the Vault entity id, ENS OP.ACC.1),
// profile, command, action, target references, outcome, counts, source
// address and a reason. Never an identifying value: [Event.Check] (run by
// Append) refuses values shaped like a NIR (13 or 15 digits, 2A/2B), an
// email, a phone number, a date outside the period keys (since, until,
// ...), and target or count keys naming an identifying field (birth_date,
// last_name, nir, address, ...). It is a safety net; callers stay
// responsible.
//
// # Review and retention
//
// [Review] (SEC-DAY-3) verifies the trail and lists re-identifications,
// refused accesses, quarantines and alerts, key operations, activity
// outside working hours, bursts of workspace pulls and open sessions;
// [Anomalies] is its pure core. [Retention] (SEC-DAY-4) removes whole
// sessions older than the configured 6 to 12 months, oldest first and
// never the newest, after writing a sealed checkpoint naming the new floor
// of the heads and the hash of the last head removed, so that [Verify]
// tells retention from deletion.
package audit
