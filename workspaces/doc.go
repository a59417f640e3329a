// Package workspaces owns the sealed per-project workspaces of researchers
// (SEC-ESP-1..3, SEC-HAB-5, -6, CNIL 3.2.3.1): a minimized copy of the
// warehouse (selected columns, matching patients, their images) under the
// project's own store key (ws:<project>) and its own pseudonyms
// (HMAC(pseudo:ws:<project> or pseudo:cohort:<name>, warehouse pseudonym)),
// with a MAC-signed manifest of every file.
//
// Layout: workspaces/<project>/workspace.json (descriptor, no data),
// records.parquet and genetic.parquet (encrypted), images/<token>
// (encrypted), manifest.json (SHA-256 of every plaintext, HMAC-signed),
// notices/<id>.parquet (encrypted: the DPO's deletion notices and
// rectification pseudonym maps for copies already pulled, [Notices]); the
// workspace data key is dek/ws-<project>.json, wrapped by ws:<project>.
package workspaces
