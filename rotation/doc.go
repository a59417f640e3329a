// Package rotation owns the re-pseudonymization that follows a rotation of
// the warehouse pseudonym key (issue 22 item 3, ARCHITECTURE §1 "rotation";
// `hdw keys rotate pseudo`).
//
// # What a rotation is
//
// The admin adds a version to pseudo:warehouse (keys.Provider.RotateKey,
// never reading it). Every pseudonym then moves to the new version as a
// keyed function of the old one, new = HMAC(new version, "rotation", old)
// (pseudo.Keyed.Rotate; the EDPB's replacement plan): no identity is read
// to rotate, and a later ingest computes the same pseudonym from the
// identity basis through the chain of versions (keys.Chain). [Run] rewrites,
// batch by batch, every store that holds warehouse pseudonyms:
//
//   - identity/persons: first the old-to-new map of the batch is written
//     under the identity key ([MapKey]; kept for the sealed policy's
//     retention.rotation_map_months, removed by [ExpireMaps]), then the
//     table is rewritten;
//   - health: the images are moved to their new pseudonym's folder (the
//     embedded pseudonym replaced, re-encrypted under their new name), then
//     the records table is rewritten (pseudonym and image_key);
//   - genetic: rewritten from the rotated health table of the same batch,
//     joined on record_id, by a profile that may read the genetic store
//     (the curator: SEC-LOG-6 keeps the dpo out of it). No pseudonym key is
//     needed for this step.
//
// Tables go through tables.Rewrite (write new, publish atomically over the
// old one), out of core: one table of one batch in memory at a time.
//
// # Resuming
//
// The batch's commit record says, per store, which key version its
// pseudonyms are at (warehouse.Commit.PseudoVersions). A store is rewritten
// only when it is behind; a table whose plaintext hash no longer matches
// its commit record was already rewritten by a run that died before
// amending the record; an image already in its new folder was already
// moved. The record is amended last, after the store is whole, so a kill
// -9 at any point resumes to the same result (TestIssue22_RotationKill9Resumes).
//
// Events (Options.Event) carry counts and batch ids, never a pseudonym, an
// identifier or key bytes.
package rotation
