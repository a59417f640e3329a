// Package keys owns the key model of hdw: the names of store keys and
// pseudonym keys, which access profile may use which key (ARCHITECTURE §1,
// SEC-LOG-4..6, SEC-HAB-2), the [Secret] type that carries key bytes without
// ever printing them, and the [Provider] contract implemented by the
// embedded keyring (package keys/local) and by Vault (package keys/vault).
//
// # Store keys and data keys
//
// Every file hdw writes is encrypted with a 256-bit data key (DEK). A DEK is
// wrapped by a store key ("health", "identity", "genetic", "ws:<project>")
// and the wrapped form is kept beside the data; only profiles allowed to
// decrypt a store can unwrap its DEKs. Profiles that only feed a store (the
// ingest profile) can create and wrap DEKs but never unwrap them.
//
// # Pseudonym keys
//
// Pseudonym keys ("pseudo:warehouse", "pseudo:professional",
// "pseudo:opposition", "pseudo:ws:<project>", "pseudo:cohort:<name>") are
// random 256-bit secrets, fetched by authorized profiles and used in-process
// for HMAC-SHA256 (package pseudo).
//
// # Audit keys (issue 22)
//
// [AuditStore] encrypts audit payloads (every profile wraps, admin and dpo
// unwrap); [Audit] MACs the segments (every profile); [CheckpointKey] signs
// the audit log's checkpoints (admin only). The genetic key is reserved to
// ingest and curator (SEC-LOG-6, [ErrGeneticReserved]).
//
// # Policy anchor (issue 21)
//
// [PolicyAnchors] is the optional provider interface that holds the policy
// seal's public key ([Anchor]) out of the warehouse writers' reach: the
// local keyring in each profile's passphrase-sealed entry, Vault in a KV
// entry only the admin's policy writes.
//
// # Operators
//
// Profiles are roles; operators are people (ENS OP.ACC.1, SWR-009): an
// [Operator] is enrolled by the admin, signs with its own key through a
// [Signer], and is found in a [Directory] (the local keyring implements
// both; package keys/local).
package keys
