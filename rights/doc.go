// Package rights answers the data protection officer's requests (CNIL
// 2021-118 §9, SEC-REI-1..5) and applies retention (§7.2, §7.3).
//
// # Finding a person
//
// The DPO gives what the person provides: the NIR, or last name, first
// name, birth date and sex. [Service.Find] recomputes the warehouse
// pseudonym from the same canonical basis as ingest (SEC-REI-1, package
// pseudo: accents, case and punctuation do not matter), and also scans the
// identity store for rows of the same person, so that a person ingested
// once with a NIR and once without is found under both pseudonyms. It then
// lists where the person's data is: records, images, genetic rows and
// identity rows per batch, the workspaces holding them, and the exports
// built after their first ingest (anonymous, out of scope of erasure).
//
// # Acting on the data
//
//   - [Service.Access] writes a package for the person: identity, health,
//     genetic tables as Parquet and CSV, de-identified images, the projects
//     that used the data and a short summary (9.2).
//   - [Service.Erase] rewrites every table without the person's rows,
//     deletes their images, erases them from the workspaces (recording a
//     deletion notice for each workspace's owner) and returns a
//     [Proof] (counts, stored-object hashes before and after) that is also
//     written under rights/proofs/.
//   - [Service.Oppose] adds every basis of the person to the opposition
//     registry (9.4, 9.7), then erases them; later ingests skip them.
//   - [Service.Restrict] and [Service.Lift] (GDPR art. 18) keep a person
//     but leave them out of new exports and re-identifications
//     ([Restricted], [ErrRestricted]) until lifted.
//   - An erasure cancels every unreleased export built since the person's
//     first ingest through the [ExportIndex]; listings carry each
//     export's true state.
//   - [Service.Rectify] corrects an identifying field; when the field is
//     part of the pseudonym basis and the pseudonym changes, the person is
//     re-pseudonymized in every store (records, images, genetic, identity,
//     workspaces); each workspace changed gets its old -> new workspace
//     pseudonym map ([WorkspaceIndex.Notify]).
//   - [Service.Emergency] (SEC-REI-3) returns the identity of a pseudonym,
//     warehouse or workspace; [Service.Recontact] (SEC-REI-2) selects
//     persons by medical criteria (see package criteria) and returns their
//     contact details only.
//
// Workspaces are reached through a [WorkspaceIndex]; package
// package workspaces implements it (workspaces.NewIndex).
//
// # Guards
//
// Every operation requires the dpo profile, a request reference (SEC-REI-5)
// and, for re-identification, a reason. Each resolved person is counted in a
// ledger under rights/ledger/ of the warehouse; beyond
// rights.max_reidentifications_per_day distinct persons a day the call is
// refused with [ErrRateLimit] and an alert is raised (SEC-REI-4). Errors and
// reports never hold an identifying value given by the DPO.
//
// # Retention
//
// [ApplyRetention] deletes the batches whose retention period (N years
// from the policy's start event: end of care, end of project, or ingest)
// is over
// (health records, images, genetic rows, and the identity rows of those
// records), with a dry-run mode and an injected clock.
package rights
